/**
 * Replaces the scheme and host (and port) of every REST URL of a ccxt exchange's `urls.api`,
 * keeping each path: for testnets, proxies and a local mock exchange in tests. ccxt keeps those
 * URLs as strings nested in objects (binance has about twenty: public, private, sapi, ...), and
 * sandbox mode swaps `urls.api` for `urls.test`, so this must run after setSandboxMode.
 */
export function overrideBaseUrl(urls: { api?: unknown }, baseUrl: string): void {
  const base = parseBase(baseUrl);
  urls.api = rewrite(urls.api, base);
}

function parseBase(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`exchange base URL "${baseUrl}" is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`exchange base URL "${baseUrl}" must be http or https`);
  if (url.pathname !== '/' || url.search || url.hash) throw new Error(`exchange base URL "${baseUrl}" must be only scheme, host and port: the exchange's own paths are kept`);
  return url.origin;
}

function rewrite(value: unknown, origin: string): unknown {
  if (typeof value === 'string') return /^https?:\/\//.test(value) ? value.replace(/^https?:\/\/[^/]+/, origin) : value;
  if (Array.isArray(value)) return value.map((v) => rewrite(v, origin));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, origin)]));
  return value;
}
