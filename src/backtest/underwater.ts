import type { EquityPoint } from '../core/performance.ts';

export interface UnderwaterPoint {
  ts: number;
  equity: number;
  /** Fall from the running peak as a fraction of that peak (0 at a new peak, 0.1 = 10 % below). */
  drawdown: number;
}

/**
 * The drawdown at every point of an equity curve, with the same convention as the core's
 * maxDrawdown (peak-relative, 0 while the peak is not positive), so that the deepest point of
 * this curve is the report's maximum drawdown depth.
 */
export function underwater(curve: readonly EquityPoint[]): UnderwaterPoint[] {
  let peak = -Infinity;
  return curve.map((p) => {
    peak = Math.max(peak, p.equity);
    return { ts: p.ts, equity: p.equity, drawdown: peak > 0 ? (peak - p.equity) / peak : 0 };
  });
}
