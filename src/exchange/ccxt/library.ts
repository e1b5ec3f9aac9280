/**
 * ccxt, loaded on first use. Loading it costs a process about 70 MB resident (every exchange's
 * class is built at import), so only processes that talk to an exchange pay for it: an analysis
 * worker, the API server or a paper run never load it (`npm run bench` measures the worker).
 * Nothing may import ccxt's values statically; types are fine (`import type`).
 */
export type Ccxt = (typeof import('ccxt'))['default'];

let library: Ccxt | undefined;
let loading: Promise<Ccxt> | undefined;

export function loadCcxt(): Promise<Ccxt> {
  loading ??= import('ccxt').then((module) => (library = module.default));
  return loading;
}

/** ccxt once `loadCcxt()` has resolved: whoever builds a client loads it first. */
export function loadedCcxt(): Ccxt {
  if (!library) throw new Error('ccxt is used before loadCcxt() resolved');
  return library;
}

/** ccxt if this process has loaded it: an error can only be a ccxt error if it has. */
export function ccxtIfLoaded(): Ccxt | undefined {
  return library;
}
