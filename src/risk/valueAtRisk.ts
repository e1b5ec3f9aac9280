import { probit } from 'simple-statistics';
import { average, quantile, stdev } from './returns.ts';

export interface RiskFigures {
  /** Candles of history behind the figures. */
  samples: number;
  /** Confidence level, e.g. 0.95. */
  confidence: number;
  /** Losses as fractions of equity over one candle (positive = a loss). */
  historicalVar: number;
  historicalCvar: number;
  parametricVar: number;
  parametricCvar: number;
  /** Monte Carlo (bootstrap of the portfolio's own returns) drawdown over `horizon` candles. */
  monteCarlo: { paths: number; horizon: number; meanMaxDrawdown: number; p95MaxDrawdown: number };
}

export interface VarOptions {
  confidence: number;
  paths: number;
  horizon: number;
  /** Seed of the bootstrap: the same portfolio and history give the same figures. */
  seed: number;
}

/**
 * Per-candle returns of a portfolio holding `weights` (fractions of equity, cash earning nothing)
 * of markets whose aligned returns are given. Markets without history are left out.
 */
export function portfolioReturns(weights: Record<string, number>, returns: Record<string, readonly number[]>): number[] {
  const held = Object.entries(weights).filter(([s, w]) => w !== 0 && (returns[s]?.length ?? 0) > 0);
  if (held.length === 0) return [];
  const n = Math.min(...held.map(([s]) => returns[s]!.length));
  const out = new Array<number>(n).fill(0);
  for (const [s, w] of held) {
    const r = returns[s]!;
    for (let i = 0; i < n; i++) out[i]! += w * r[r.length - n + i]!;
  }
  return out;
}

/**
 * Value at risk and expected shortfall, historical and parametric (normal), of a return series,
 * plus a bootstrap estimate of drawdown. Null with fewer than 2 returns: no figure is better
 * than an invented one. Every figure is finite.
 */
export function riskFigures(returns: readonly number[], options: VarOptions): RiskFigures | null {
  const clean = returns.filter(Number.isFinite);
  if (clean.length < 2) return null;
  const alpha = 1 - options.confidence;
  const cutoff = quantile(clean, alpha);
  const tail = clean.filter((r) => r <= cutoff);
  const mu = average(clean);
  const sigma = stdev(clean);
  const z = probit(alpha); // negative, e.g. -1.645 at 95%
  // Expected shortfall of a normal: mu - sigma * pdf(z) / alpha.
  const pdf = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  const figures: RiskFigures = {
    samples: clean.length,
    confidence: options.confidence,
    historicalVar: Math.max(0, -cutoff),
    historicalCvar: Math.max(0, -average(tail)),
    parametricVar: Math.max(0, -(mu + z * sigma)),
    parametricCvar: Math.max(0, -(mu - (sigma * pdf) / alpha)),
    monteCarlo: monteCarloDrawdown(clean, options),
  };
  return figures;
}

/** True when every figure is a finite number (absurd prices can overflow a variance). */
export function figuresAreFinite(f: RiskFigures): boolean {
  return [f.historicalVar, f.historicalCvar, f.parametricVar, f.parametricCvar, f.monteCarlo.meanMaxDrawdown, f.monteCarlo.p95MaxDrawdown].every(Number.isFinite);
}

function monteCarloDrawdown(returns: readonly number[], { paths, horizon, seed }: VarOptions): RiskFigures['monteCarlo'] {
  // Written out by hand, as the hottest loop of a backtest (paths x horizon draws on every
  // sized entry): each return's growth factor computed once, and the seeded PRNG (mulberry32,
  // the bootstrap must be reproducible, Math.random is not) inlined. The same draws and the same
  // arithmetic as a generic version, so the same figures to the last bit, in less than half the time.
  const n = returns.length;
  const growth = new Float64Array(n);
  // A return below -100% would make equity negative; a long-only spot book cannot lose more than it holds.
  for (let i = 0; i < n; i++) growth[i] = Math.max(0, 1 + returns[i]!);
  let state = seed >>> 0;
  const drawdowns = new Array<number>(paths);
  for (let p = 0; p < paths; p++) {
    let value = 1;
    let peak = 1;
    let worst = 0;
    for (let t = 0; t < horizon; t++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let x = state;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      value *= growth[Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * n)]!;
      peak = Math.max(peak, value);
      worst = Math.max(worst, peak > 0 ? 1 - value / peak : 0);
    }
    drawdowns[p] = worst;
  }
  return { paths, horizon, meanMaxDrawdown: paths > 0 ? average(drawdowns) : 0, p95MaxDrawdown: paths > 0 ? quantile(drawdowns, 0.95) : 0 };
}
