import { OBJECTIVES, type Objective, type PerformanceMetrics } from '../core/performance.ts';

export { OBJECTIVES, type Objective };

/**
 * Parameter sweeps with walk-forward validation, pure: the grid, the time segments, and the
 * ranking of the backtests' results. The runs themselves are jobs (processors/optimize.ts).
 *
 * Walk-forward: the span is cut into `folds + 1` equal parts; fold k chooses the best combination
 * on part k (in sample) and reports how that choice did on part k + 1 (out of sample), which it
 * never saw. A choice that shines in sample and fades out of sample is overfitted, and the report
 * shows it side by side.
 */


export type ParameterValue = number | string | boolean;
/** A path ("<instance>.<param>" or a config path such as "risk.kellyFraction") → the values to try. */
export type ParameterGrid = Record<string, ParameterValue[]>;
export type Combination = Record<string, ParameterValue>;

export interface Span {
  from: number;
  to: number;
}

/** Every combination of the grid's values, in a stable order (first parameter slowest). */
export function expandGrid(grid: ParameterGrid): Combination[] {
  let combos: Combination[] = [{}];
  for (const [path, values] of Object.entries(grid)) {
    if (values.length === 0) throw new Error(`parameter ${path} has no values to try`);
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [path]: v })));
  }
  return combos;
}

/** `folds + 1` consecutive parts of [from, to], each starting on a candle boundary of `periodMs`. */
export function walkForwardParts(span: Span, folds: number, periodMs: number): Span[] {
  if (!Number.isInteger(folds) || folds < 1) throw new Error(`walk-forward needs at least 1 fold (got ${folds})`);
  const parts = folds + 1;
  const candles = Math.floor((span.to - span.from) / periodMs) + 1;
  if (candles < parts * 2) throw new Error(`${candles} candles cannot be cut into ${parts} walk-forward parts`);
  const per = Math.floor(candles / parts);
  return Array.from({ length: parts }, (_, k) => ({
    from: span.from + k * per * periodMs,
    to: k === parts - 1 ? span.to : span.from + ((k + 1) * per - 1) * periodMs,
  }));
}

/** The objective's value in a run's metrics; null when undefined there (no trades, no variance): ranked last. */
export function objectiveValue(metrics: PerformanceMetrics | undefined, objective: Objective): number | null {
  if (!metrics) return null;
  const v = metrics[objective];
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/** One backtest of one combination on one segment ('full' or a walk-forward part). */
export interface SweepRun {
  combo: number;
  segment: 'full' | number;
  metrics?: PerformanceMetrics | undefined;
  trades?: number | undefined;
  error?: string | undefined;
}

export interface RankedCombination {
  rank: number;
  combo: number;
  params: Combination;
  objective: number | null;
  totalReturn: number | null;
  sharpe: number | null;
  maxDrawdown: number | null;
  trades: number | null;
}

export interface WalkForwardFold {
  fold: number;
  inSample: Span;
  outOfSample: Span;
  chosen: number;
  params: Combination;
  inSampleObjective: number | null;
  outOfSampleObjective: number | null;
  /** Where the chosen combination ranked among all of them out of sample (1 = best); null when its objective is undefined there. */
  outOfSampleRank: number | null;
}

export interface OptimizeReport {
  objective: Objective;
  currency: string;
  grid: ParameterGrid;
  combinations: number;
  span: Span;
  ranking: RankedCombination[];
  walkForward: {
    folds: WalkForwardFold[];
    inSampleMean: number | null;
    outOfSampleMean: number | null;
    /** Out-of-sample mean over in-sample mean: near 1 generalises, near 0 or below is overfitted. */
    efficiency: number | null;
  };
  failed: Array<{ combo: number; segment: 'full' | number; error: string }>;
}

/** Sorts best first; null (undefined objective, failed run) last; ties by combination order. */
function byObjective(a: { value: number | null; combo: number }, b: { value: number | null; combo: number }): number {
  if (a.value === null || b.value === null) return a.value === null && b.value === null ? a.combo - b.combo : a.value === null ? 1 : -1;
  return b.value - a.value || a.combo - b.combo;
}

function mean(xs: Array<number | null>): number | null {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length > 0 ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
}

export function summarizeSweep(input: { objective: Objective; currency: string; grid: ParameterGrid; combos: Combination[]; span: Span; parts: Span[]; runs: SweepRun[] }): OptimizeReport {
  const { objective, combos, currency } = input;
  const metricsOf = (run: SweepRun | undefined) => run?.metrics;
  const find = (combo: number, segment: 'full' | number) => input.runs.find((r) => r.combo === combo && r.segment === segment);
  const value = (combo: number, segment: 'full' | number) => objectiveValue(metricsOf(find(combo, segment)), objective);
  const order = (segment: 'full' | number) => combos.map((_, combo) => ({ combo, value: value(combo, segment) })).sort(byObjective);

  const ranking = order('full').map(({ combo, value: v }, i) => {
    const m = metricsOf(find(combo, 'full'));
    return { rank: i + 1, combo, params: combos[combo]!, objective: v, totalReturn: m?.totalReturn ?? null, sharpe: m?.sharpe ?? null, maxDrawdown: m?.maxDrawdown.depth ?? null, trades: m?.trades ?? null };
  });
  const folds: WalkForwardFold[] = [];
  for (let k = 0; k + 1 < input.parts.length; k++) {
    const chosen = order(k)[0]!.combo;
    const outRanks = order(k + 1);
    folds.push({
      fold: k + 1,
      inSample: input.parts[k]!,
      outOfSample: input.parts[k + 1]!,
      chosen,
      params: combos[chosen]!,
      inSampleObjective: value(chosen, k),
      outOfSampleObjective: value(chosen, k + 1),
      outOfSampleRank: value(chosen, k + 1) === null ? null : outRanks.findIndex((r) => r.combo === chosen) + 1,
    });
  }
  const inSampleMean = mean(folds.map((f) => f.inSampleObjective));
  const outOfSampleMean = mean(folds.map((f) => f.outOfSampleObjective));
  return {
    objective,
    currency,
    grid: input.grid,
    combinations: combos.length,
    span: input.span,
    ranking,
    walkForward: {
      folds,
      inSampleMean,
      outOfSampleMean,
      efficiency: inSampleMean !== null && outOfSampleMean !== null && inSampleMean !== 0 ? outOfSampleMean / inSampleMean : null,
    },
    failed: input.runs.filter((r) => r.error).map((r) => ({ combo: r.combo, segment: r.segment, error: r.error! })),
  };
}
