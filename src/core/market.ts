/**
 * A market is named by its ccxt unified symbol ("ADA/BTC"). Redis keys, job ids and file names
 * cannot hold "/" or ":" (BullMQ forbids ":" in ids), so they use the market key ("ADA-BTC").
 */
export type Symbol = string;

const SYMBOL_PATTERN = /^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}$/;

export function isSymbol(value: string): boolean {
  return SYMBOL_PATTERN.test(value);
}

export function marketKey(symbol: Symbol): string {
  return symbol.replace('/', '-');
}

export function symbolFromKey(key: string): Symbol {
  return key.replace('-', '/');
}

export function baseOf(symbol: Symbol): string {
  return symbol.split('/')[0]!;
}

export function quoteOf(symbol: Symbol): string {
  // What symbol.split('/')[1] gives, without the array: the decision path asks on every candle.
  const slash = symbol.indexOf('/');
  if (slash < 0) return undefined as unknown as string;
  const next = symbol.indexOf('/', slash + 1);
  return next < 0 ? symbol.slice(slash + 1) : symbol.slice(slash + 1, next);
}

/**
 * The trading rules of one market, in the shape of ccxt's market structure (precisionMode
 * TICK_SIZE: precision is the step size, e.g. 0.01), so that the paper exchange and the ccxt
 * gateway apply the same rules.
 */
export interface MarketRules {
  symbol: Symbol;
  base: string;
  quote: string;
  precision: { amount: string; price: string };
  limits: {
    amount: { min: string; max?: string | undefined };
    cost: { min: string };
  };
  /** Fee rates as fractions of notional (0.001 = 0.1 %). */
  taker: string;
  maker: string;
}
