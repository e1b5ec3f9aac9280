// Named import: under NodeNext the default import is typed as the CJS namespace.
import { Decimal } from 'decimal.js';
import type { Candle } from '../core/candle.ts';
import { bucketStart, timeframeMs } from '../core/timeframe.ts';
import { CANDLE_CSV_HEADER } from './candleCsv.ts';
import type { Trade } from './trades.ts';

// A private constructor: another module calling Decimal.set() must not change our sums.
const Dec = Decimal.clone({ precision: 40 });

interface OpenCandle {
  ts: number;
  open: number;
  openTs: number;
  high: number;
  low: number;
  close: number;
  closeTs: number;
  volume: Decimal;
}

/**
 * Builds candles from a stream of trades, one trade at a time, so that a file replay and a live
 * stream share it. A candle closes when a trade of a later bucket arrives (or on flush); a
 * closed candle is never changed again.
 */
export class TradeCandleAggregator {
  readonly timeframe: string;
  readonly tfMs: number;
  #current: OpenCandle | undefined;
  /** Trades before this time belong to a bucket that is closed or was skipped. */
  #floor = Number.NEGATIVE_INFINITY;
  #late = 0;
  #invalid = 0;

  constructor(timeframe: string) {
    this.timeframe = timeframe;
    this.tfMs = timeframeMs(timeframe);
  }

  /** Trades ignored because their bucket was already closed (or passed). */
  get lateTrades(): number {
    return this.#late;
  }

  /** Trades ignored because their time, price or amount was not usable. */
  get invalidTrades(): number {
    return this.#invalid;
  }

  /** Adds one trade; returns the candles it closed (none or one: empty buckets make no candle). */
  push(trade: Trade): Candle[] {
    const { ts, price, amount } = trade;
    if (!Number.isFinite(ts) || !Number.isFinite(price) || price <= 0 || !Number.isFinite(amount) || amount < 0) {
      this.#invalid++;
      return [];
    }
    if (ts < this.#floor) {
      this.#late++;
      return [];
    }
    const bucket = bucketStart(ts, this.tfMs);
    const closed: Candle[] = [];
    const cur = this.#current;
    if (cur !== undefined && bucket === cur.ts) {
      // Order by trade time, not arrival, within the bucket; ties keep arrival order.
      if (ts < cur.openTs) {
        cur.open = price;
        cur.openTs = ts;
      }
      if (ts >= cur.closeTs) {
        cur.close = price;
        cur.closeTs = ts;
      }
      if (price > cur.high) cur.high = price;
      if (price < cur.low) cur.low = price;
      cur.volume = cur.volume.plus(amount);
      return closed;
    }
    if (cur !== undefined) closed.push(toCandle(cur));
    this.#current = { ts: bucket, open: price, openTs: ts, high: price, low: price, close: price, closeTs: ts, volume: new Dec(amount) };
    this.#floor = bucket;
    return closed;
  }

  /** Adds trades in order; returns every candle they closed. */
  pushMany(trades: Iterable<Trade>): Candle[] {
    const closed: Candle[] = [];
    for (const trade of trades) closed.push(...this.push(trade));
    return closed;
  }

  /** Closes and returns the open candle, if any; later trades of its bucket count as late. */
  flush(): Candle | undefined {
    const cur = this.#current;
    if (cur === undefined) return undefined;
    this.#current = undefined;
    this.#floor = cur.ts + this.tfMs;
    return toCandle(cur);
  }
}

function toCandle(c: OpenCandle): Candle {
  return { ts: c.ts, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume.toNumber() };
}

/** All candles of a finished batch of trades, the last (open) one included. */
export function tradesToCandles(trades: Iterable<Trade>, timeframe: string): { candles: Candle[]; lateTrades: number; invalidTrades: number } {
  const agg = new TradeCandleAggregator(timeframe);
  const candles = agg.pushMany(trades);
  const last = agg.flush();
  if (last) candles.push(last);
  return { candles, lateTrades: agg.lateTrades, invalidTrades: agg.invalidTrades };
}

/**
 * Prints a number in plain decimal notation. 15 significant digits is the most that every
 * double holds exactly, so rounding there removes float noise (0.1 + 0.2 → 0.3) and keeps
 * every value the data actually has.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot print ${value} as a CSV number`);
  // Safe integers (timestamps, whole volumes) are exact as they are, even beyond 15 digits.
  if (Number.isSafeInteger(value)) return String(value);
  return new Dec(value.toPrecision(15)).toFixed();
}

export function candlesToCsv(candles: Candle[]): string {
  let out = `${CANDLE_CSV_HEADER}\n`;
  for (const c of candles) {
    out += `${formatNumber(c.ts)},${formatNumber(c.open)},${formatNumber(c.high)},${formatNumber(c.low)},${formatNumber(c.close)},${formatNumber(c.volume)}\n`;
  }
  return out;
}
