/**
 * Static market data of the mock Binance: the markets of data/markets.json turned into Binance
 * spot `exchangeInfo` entries, and the candles of data/ohlcv/*.csv served as klines.
 *
 * Everything here is read-only and cached per process (the CSV files are large and immutable), so
 * many mock exchanges in one test file share one parse.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const DEFAULT_MARKETS_FILE = join(ROOT, 'data/markets.json');
export const DEFAULT_OHLCV_DIR = join(ROOT, 'data/ohlcv');

/** A market as data/markets.json holds it (ccxt-shaped; numbers may be strings or numbers). */
export interface MarketJson {
  symbol: string;
  base: string;
  quote: string;
  precision: { amount: string | number; price: string | number };
  limits: {
    amount: { min: string | number; max?: string | number | null };
    cost?: { min?: string | number | null; max?: string | number | null };
    price?: { min?: string | number | null; max?: string | number | null };
  };
  taker: string | number;
  maker: string | number;
}

/** The trading rules of one market, as the mock enforces them. */
export interface MarketSpec {
  /** ccxt symbol, e.g. "ETH/BTC". */
  symbol: string;
  /** Binance wire id, e.g. "ETHBTC". */
  id: string;
  base: string;
  quote: string;
  tickSize: Decimal;
  minPrice: Decimal;
  maxPrice: Decimal;
  stepSize: Decimal;
  minQty: Decimal;
  maxQty: Decimal;
  /** MARKET_LOT_SIZE: Binance's real values for most spot pairs are min 0, step 0, a lower max. */
  marketMaxQty: Decimal;
  minNotional: Decimal;
  maxNotional: Decimal;
  taker: Decimal;
  maker: Decimal;
  maxNumOrders: number;
}

const DEFAULT_MAX_PRICE = new Decimal('922327');
const DEFAULT_MAX_NOTIONAL = new Decimal('9000000');

/** Binance prints every decimal of exchangeInfo with 8 places: "0.00100000". */
export function fmt8(d: Decimal): string {
  return d.toFixed(8, Decimal.ROUND_DOWN);
}

export function marketSpec(m: MarketJson): MarketSpec {
  const dec = (v: string | number | null | undefined, fallback: Decimal): Decimal =>
    v === undefined || v === null || v === '' ? fallback : new Decimal(String(v));
  const tickSize = dec(m.precision.price, new Decimal('0.00000001'));
  const stepSize = dec(m.precision.amount, new Decimal('0.00000001'));
  const maxQty = dec(m.limits.amount.max, new Decimal('9000000000'));
  return {
    symbol: m.symbol,
    id: `${m.base}${m.quote}`,
    base: m.base,
    quote: m.quote,
    tickSize,
    minPrice: dec(m.limits.price?.min, tickSize),
    maxPrice: dec(m.limits.price?.max, DEFAULT_MAX_PRICE),
    stepSize,
    minQty: dec(m.limits.amount.min, stepSize),
    maxQty,
    marketMaxQty: maxQty,
    minNotional: dec(m.limits.cost?.min, new Decimal(0)),
    maxNotional: dec(m.limits.cost?.max, DEFAULT_MAX_NOTIONAL),
    taker: dec(m.taker, new Decimal('0.001')),
    maker: dec(m.maker, new Decimal('0.001')),
    maxNumOrders: 200,
  };
}

export function loadMarketsFile(file: string = DEFAULT_MARKETS_FILE): Record<string, MarketJson> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, MarketJson>;
}

/** One `symbols[]` entry of GET /api/v3/exchangeInfo, shaped like Binance's spot answer today. */
export function exchangeInfoSymbol(s: MarketSpec): Record<string, unknown> {
  return {
    symbol: s.id,
    status: 'TRADING',
    baseAsset: s.base,
    baseAssetPrecision: 8,
    quoteAsset: s.quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    // Only what the mock implements: ccxt refuses locally any type not listed here.
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: false,
    amendAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: fmt8(s.minPrice), maxPrice: fmt8(s.maxPrice), tickSize: fmt8(s.tickSize) },
      { filterType: 'LOT_SIZE', minQty: fmt8(s.minQty), maxQty: fmt8(s.maxQty), stepSize: fmt8(s.stepSize) },
      { filterType: 'ICEBERG_PARTS', limit: 10 },
      { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: fmt8(s.marketMaxQty), stepSize: '0.00000000' },
      { filterType: 'MAX_NUM_ORDERS', maxNumOrders: s.maxNumOrders },
      { filterType: 'MAX_NUM_ALGO_ORDERS', maxNumAlgoOrders: 5 },
      {
        filterType: 'NOTIONAL',
        minNotional: fmt8(s.minNotional),
        applyMinToMarket: true,
        maxNotional: fmt8(s.maxNotional),
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
    ],
    permissions: ['SPOT'],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
  };
}

/** GET /api/v3/exchangeInfo rate limits, as Binance publishes them for spot. */
export const RATE_LIMITS = [
  { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
  { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
  { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
];

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

/** One CSV row: timestamp (open time, ms), open, high, low, close, volume, as the file spells them. */
export interface CsvCandle {
  ts: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

const MINUTE = 60_000;
/** Binance kline intervals with a fixed length (1M, a calendar month, is not served). */
export const INTERVAL_MS: Record<string, number> = {
  '1s': 1000,
  '1m': MINUTE,
  '3m': 3 * MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '2h': 120 * MINUTE,
  '4h': 240 * MINUTE,
  '6h': 360 * MINUTE,
  '8h': 480 * MINUTE,
  '12h': 720 * MINUTE,
  '1d': 1440 * MINUTE,
  '3d': 3 * 1440 * MINUTE,
  '1w': 7 * 1440 * MINUTE,
};

const fileIndexCache = new Map<string, Map<string, Map<string, string>>>();
const candleCache = new Map<string, CsvCandle[]>();
const aggregateCache = new Map<string, CsvCandle[]>();

/** symbol ("ETH/BTC") -> interval ("5m") -> file path, for every `<BASE>_<QUOTE>-<tf>.csv` of dir. */
function fileIndex(dir: string): Map<string, Map<string, string>> {
  let index = fileIndexCache.get(dir);
  if (index) return index;
  index = new Map();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // no candles at all: prices default to 1 and klines are empty
  }
  for (const name of names) {
    const m = /^([A-Z0-9]+)_([A-Z0-9]+)-(\w+)\.csv$/.exec(name);
    if (!m) continue;
    const symbol = `${m[1]}/${m[2]}`;
    const byTf = index.get(symbol) ?? new Map<string, string>();
    byTf.set(m[3]!, join(dir, name));
    index.set(symbol, byTf);
  }
  fileIndexCache.set(dir, index);
  return index;
}

function readCsv(file: string): CsvCandle[] {
  let rows = candleCache.get(file);
  if (rows) return rows;
  rows = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const line of lines) {
    const cells = line.trim().split(',');
    if (cells.length < 6 || !/^\d+$/.test(cells[0]!)) continue; // header or blank line
    rows.push({ ts: Number(cells[0]), open: cells[1]!, high: cells[2]!, low: cells[3]!, close: cells[4]!, volume: cells[5]! });
  }
  rows.sort((a, b) => a.ts - b.ts);
  candleCache.set(file, rows);
  return rows;
}

/** Start of the bucket of `interval` that holds ts: Binance aligns weeks on Monday 00:00 UTC. */
function bucketStart(ts: number, intervalMs: number): number {
  const offset = intervalMs === INTERVAL_MS['1w'] ? 4 * 1440 * MINUTE : 0; // 1970-01-01 was a Thursday
  return Math.floor((ts - offset) / intervalMs) * intervalMs + offset;
}

function aggregate(rows: CsvCandle[], intervalMs: number): CsvCandle[] {
  const out: CsvCandle[] = [];
  let cur: { ts: number; open: string; high: Decimal; low: Decimal; close: string; volume: Decimal } | undefined;
  for (const r of rows) {
    const b = bucketStart(r.ts, intervalMs);
    if (!cur || cur.ts !== b) {
      if (cur) out.push({ ts: cur.ts, open: cur.open, high: cur.high.toString(), low: cur.low.toString(), close: cur.close, volume: cur.volume.toString() });
      cur = { ts: b, open: r.open, high: new Decimal(r.high), low: new Decimal(r.low), close: r.close, volume: new Decimal(r.volume) };
    } else {
      cur.high = Decimal.max(cur.high, r.high);
      cur.low = Decimal.min(cur.low, r.low);
      cur.close = r.close;
      cur.volume = cur.volume.plus(r.volume);
    }
  }
  if (cur) out.push({ ts: cur.ts, open: cur.open, high: cur.high.toString(), low: cur.low.toString(), close: cur.close, volume: cur.volume.toString() });
  return out;
}

/**
 * The candles of `symbol` at `interval`: the CSV of exactly that interval if there is one, else
 * aggregated from the coarsest CSV whose interval divides it (5m -> 1h, 1m -> 3m), else none.
 */
export function candlesFor(dir: string, symbol: string, interval: string): CsvCandle[] {
  const byTf = fileIndex(dir).get(symbol);
  const target = INTERVAL_MS[interval];
  if (!byTf || target === undefined) return [];
  const exact = byTf.get(interval);
  if (exact) return readCsv(exact);
  const key = `${dir}|${symbol}|${interval}`;
  const cached = aggregateCache.get(key);
  if (cached) return cached;
  let best: { ms: number; file: string } | undefined;
  for (const [tf, file] of byTf) {
    const ms = INTERVAL_MS[tf];
    if (ms === undefined || ms > target || target % ms !== 0) continue;
    if (!best || ms > best.ms) best = { ms, file };
  }
  const rows = best ? aggregate(readCsv(best.file), target) : [];
  aggregateCache.set(key, rows);
  return rows;
}

/** The candles the mock uses for prices and 24h statistics: the 5m file, else the finest there is. */
export function referenceCandles(dir: string, symbol: string): CsvCandle[] {
  const byTf = fileIndex(dir).get(symbol);
  if (!byTf) return [];
  if (byTf.has('5m')) return readCsv(byTf.get('5m')!);
  const tfs = [...byTf.keys()].filter((tf) => INTERVAL_MS[tf] !== undefined).sort((a, b) => INTERVAL_MS[a]! - INTERVAL_MS[b]!);
  return tfs[0] ? readCsv(byTf.get(tfs[0])!) : [];
}

/** Default price of a market: the last close of its candles, else 1. */
export function defaultPrice(dir: string, symbol: string): Decimal {
  const rows = referenceCandles(dir, symbol);
  const last = rows[rows.length - 1];
  return last ? new Decimal(last.close) : new Decimal(1);
}
