import { UnrecoverableError, type Job } from 'bullmq';
import { expandGrid, summarizeSweep, type OptimizeReport, type SweepRun } from '../src/backtest/optimize.ts';
import { withParameters } from '../src/config/parameters.ts';
import { ConfigSchema, type Config } from '../src/config/schema.ts';
import { OptimizeRunMessage, OptimizeSweepMessage } from '../src/contracts/messages.ts';
import type { PerformanceMetrics } from '../src/core/performance.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import { QUEUE } from '../queues/names.ts';
import { parseJob } from './common.ts';

export interface OptimizeDeps {
  /** Runs one backtest of `files` (relative to the worker's project folder) over `span`. */
  backtest(config: Config, files: string[], span: { from: number; to: number }): Promise<{ metrics: PerformanceMetrics[]; trades: number }>;
  stats: StatsStore;
  log: Logger;
}

export const SWEEP_JOB = 'sweep';
export const SWEEP_RUN_JOB = 'run';

/**
 * The optimize queue: each `run` job backtests one combination of a sweep on one segment, on
 * whichever worker process of whichever host takes it; the `sweep` parent ranks them all once
 * every run has ended (a failed run is listed with its reason, never blocks the ranking).
 */
export function optimizeProcessor(deps: OptimizeDeps) {
  return async (job: Job): Promise<SweepRun | OptimizeReport> => {
    if (job.name === SWEEP_JOB) return summarize(deps, job);
    const m = await parseJob(QUEUE.optimize, OptimizeRunMessage, job, deps.stats);
    const base = ConfigSchema.safeParse(m.config);
    if (!base.success) throw new UnrecoverableError(`sweep ${m.sweepId}: the base config is invalid: ${base.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const applied = withParameters(base.data, m.params);
    if (!applied.ok) throw new UnrecoverableError(`combination ${m.combo} ${JSON.stringify(m.params)}: ${applied.problems.join('; ')}`);
    const started = performance.now();
    const result = await deps.backtest(applied.config, m.files, m.span);
    await deps.stats.incr('optimize.runs');
    deps.log.info({ sweepId: m.sweepId, combo: m.combo, segment: m.segment, ms: Math.round(performance.now() - started) }, 'sweep run done');
    return { combo: m.combo, segment: m.segment, metrics: result.metrics.find((x) => x.currency === m.currency), trades: result.trades };
  };
}

async function summarize(deps: OptimizeDeps, job: Job): Promise<OptimizeReport> {
  const m = await parseJob(QUEUE.optimize, OptimizeSweepMessage, job, deps.stats);
  const [values, failures] = await Promise.all([job.getChildrenValues<SweepRun>(), job.getIgnoredChildrenFailures()]);
  const runs: SweepRun[] = Object.values(values);
  for (const [key, error] of Object.entries(failures)) {
    const id = /-c(\d+)-(full|p(\d+))$/.exec(key);
    if (id) runs.push({ combo: Number(id[1]), segment: id[2] === 'full' ? 'full' : Number(id[3]), error });
  }
  return summarizeSweep({ objective: m.objective, currency: m.currency, grid: m.grid, combos: expandGrid(m.grid), span: m.span, parts: m.parts, runs });
}
