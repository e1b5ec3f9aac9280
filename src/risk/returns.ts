import { mean, quantileSorted, sampleCorrelation, sampleStandardDeviation } from 'simple-statistics';

/**
 * Return series for the risk gates. Series are aligned by candle time (markets skip candles at
 * different times: a return is only comparable to another over the same interval).
 */

/** Close prices of one market keyed by candle open time. */
export type CloseSeries = ReadonlyArray<{ ts: number; close: number }>;

/**
 * Simple returns of each market over the candle times all of them share, oldest first. A pair of
 * closes that is not finite and positive is skipped rather than allowed to produce NaN.
 */
export function alignedReturns(series: Record<string, CloseSeries>): Record<string, number[]> {
  const symbols = Object.keys(series);
  const out: Record<string, number[]> = Object.fromEntries(symbols.map((s) => [s, []]));
  if (symbols.length === 0) return out;
  const maps = symbols.map((s) => new Map(series[s]!.filter((c) => Number.isFinite(c.close) && c.close > 0).map((c) => [c.ts, c.close])));
  const common = [...maps[0]!.keys()].filter((ts) => maps.every((m) => m.has(ts))).sort((a, b) => a - b);
  for (let i = 1; i < common.length; i++) {
    const [prev, cur] = [common[i - 1]!, common[i]!];
    symbols.forEach((s, k) => out[s]!.push(maps[k]!.get(cur)! / maps[k]!.get(prev)! - 1));
  }
  return out;
}

/** Pearson correlation, or null when it cannot be told (too few points, or a series that never moves). */
export function correlation(a: readonly number[], b: readonly number[], minSamples: number): number | null {
  const n = Math.min(a.length, b.length);
  if (n < Math.max(3, minSamples)) return null;
  const x = a.slice(a.length - n);
  const y = b.slice(b.length - n);
  if (sampleStandardDeviation(x) === 0 || sampleStandardDeviation(y) === 0) return null;
  const rho = sampleCorrelation(x, y);
  return Number.isFinite(rho) ? rho : null;
}

/** The q-quantile of unsorted values (q in [0, 1]); values must be non-empty. */
export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

export function average(values: readonly number[]): number {
  return values.length === 0 ? 0 : mean(values as number[]);
}

/** Sample standard deviation; 0 for fewer than two values. */
export function stdev(values: readonly number[]): number {
  return values.length < 2 ? 0 : sampleStandardDeviation(values as number[]);
}

/**
 * Average true range over the last `period` candles in price units (Wilder's definition without
 * the smoothing seed, which a window read from Redis does not have), or null without enough data.
 */
export function averageTrueRange(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>, period: number): number | null {
  const n = close.length;
  if (period < 1 || n < period + 1) return null;
  let sum = 0;
  for (let i = n - period; i < n; i++) {
    const prevClose = close[i - 1]!;
    sum += Math.max(high[i]! - low[i]!, Math.abs(high[i]! - prevClose), Math.abs(low[i]! - prevClose));
  }
  const atr = sum / period;
  return Number.isFinite(atr) && atr >= 0 ? atr : null;
}
