import { bucketStart } from './timeframe.ts';

/** A closed OHLCV candle. `ts` is the open time in Unix ms, UTC. Volume is in the base currency. */
export interface Candle {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export type CandleRejection =
  | 'not-finite'
  | 'non-positive-price'
  | 'negative-volume'
  | 'high-below-body'
  | 'low-above-body'
  | 'misaligned-timestamp'
  | 'not-increasing'
  | 'absurd-magnitude';

export type CandleVerdict = { ok: true } | { ok: false; reason: CandleRejection; detail: string };

/** Prices or volumes beyond this are data corruption, not markets (and would lose precision). */
const MAX_MAGNITUDE = 1e15;

/**
 * Checks one candle against the rules of DESIGN.md. `previousTs` is the open time of the last
 * accepted candle of the same series (undefined for the first); gaps are allowed, going back is not.
 */
export function validateCandle(candle: Candle, tfMs: number, previousTs: number | undefined): CandleVerdict {
  const { ts, open, high, low, close, volume } = candle;
  for (const [name, value] of Object.entries({ ts, open, high, low, close, volume })) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return { ok: false, reason: 'not-finite', detail: `${name} is ${String(value)}, not a finite number` };
    }
    if (Math.abs(value) > (name === 'ts' ? 8.64e15 : MAX_MAGNITUDE)) {
      return { ok: false, reason: 'absurd-magnitude', detail: `${name} is ${value}` };
    }
  }
  for (const [name, value] of Object.entries({ open, high, low, close })) {
    if (value <= 0) return { ok: false, reason: 'non-positive-price', detail: `${name} is ${value}` };
  }
  if (volume < 0) return { ok: false, reason: 'negative-volume', detail: `volume is ${volume}` };
  if (high < Math.max(open, close)) {
    return { ok: false, reason: 'high-below-body', detail: `high ${high} < max(open ${open}, close ${close})` };
  }
  if (low > Math.min(open, close)) {
    return { ok: false, reason: 'low-above-body', detail: `low ${low} > min(open ${open}, close ${close})` };
  }
  if (!Number.isInteger(ts) || bucketStart(ts, tfMs) !== ts) {
    return { ok: false, reason: 'misaligned-timestamp', detail: `ts ${ts} is not a multiple of ${tfMs} ms` };
  }
  if (previousTs !== undefined && ts <= previousTs) {
    return { ok: false, reason: 'not-increasing', detail: `ts ${ts} is not after the previous candle's ${previousTs}` };
  }
  return { ok: true };
}

/**
 * A window of candles, oldest first, in columns: the shape indicators want, cheap to copy
 * between threads, and free of per-candle objects.
 */
export interface CandleWindow {
  length: number;
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export function windowFromCandles(candles: readonly Candle[]): CandleWindow {
  const n = candles.length;
  const w: CandleWindow = {
    length: n,
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const c = candles[i]!;
    w.ts[i] = c.ts;
    w.open[i] = c.open;
    w.high[i] = c.high;
    w.low[i] = c.low;
    w.close[i] = c.close;
    w.volume[i] = c.volume;
  }
  return w;
}

/** Candles [from, to) of a window, as views on the same arrays (no copy). */
export function sliceWindow(w: CandleWindow, from: number, to: number): CandleWindow {
  return {
    length: to - from,
    ts: w.ts.subarray(from, to),
    open: w.open.subarray(from, to),
    high: w.high.subarray(from, to),
    low: w.low.subarray(from, to),
    close: w.close.subarray(from, to),
    volume: w.volume.subarray(from, to),
  };
}

export function candleAt(w: CandleWindow, i: number): Candle {
  return { ts: w.ts[i]!, open: w.open[i]!, high: w.high[i]!, low: w.low[i]!, close: w.close[i]!, volume: w.volume[i]! };
}
