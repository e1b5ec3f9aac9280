import { randomBytes } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';
import { expandGrid, walkForwardParts, type Objective, type OptimizeReport, type ParameterGrid, type Span } from '../backtest/optimize.ts';
import { maskSecrets } from '../config/load.ts';
import { withParameters } from '../config/parameters.ts';
import { stamp } from '../contracts/envelope.ts';
import type { OptimizeRunMessage } from '../contracts/messages.ts';
import { quoteOf } from '../core/market.ts';
import { timeframeMs } from '../core/timeframe.ts';
import { mergeCandleFiles } from '../feed/replay.ts';
import type { ReplayFile } from '../feed/replayFiles.ts';
import type { Context } from './context.ts';
import { loadBots } from './loadBots.ts';
import { StartupError } from './startupError.ts';

export interface SweepOptions {
  grid: ParameterGrid;
  objective: Objective;
  files: ReplayFile[];
  from?: number | undefined;
  to?: number | undefined;
  folds: number;
  /** The currency whose metrics are ranked (default: the quote of the first file's market). */
  currency?: string | undefined;
  timeoutMs: number;
  onProgress?: ((done: number, total: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface SweepResult {
  sweepId: string;
  report: OptimizeReport;
}

/**
 * Runs a parameter sweep as jobs of the optimize queue: one backtest per combination on the whole
 * span and on each walk-forward part, taken by every worker process serving that queue on any
 * host; waits for the parent job to rank them and returns its report.
 */
export async function runSweep(ctx: Context, options: SweepOptions): Promise<SweepResult> {
  const combos = expandGrid(options.grid);
  // Every combination is checked here, before anything is queued: a typo fails in a second, not after the sweep.
  const series = [...new Map(options.files.map((f) => [`${f.symbol} ${f.timeframe}`, { symbol: f.symbol, timeframe: f.timeframe }])).values()];
  for (const combo of combos) {
    const applied = withParameters(ctx.config, combo);
    if (!applied.ok) throw new StartupError(`the sweep's parameters do not fit the config (${JSON.stringify(combo)})`, applied.problems);
    // An instance's params are its bot's to check.
    const { problems } = await loadBots({ config: applied.config, cwd: ctx.cwd, series, markets: ctx.markets });
    if (problems.length > 0) throw new StartupError(`the sweep's parameters do not fit the bots (${JSON.stringify(combo)})`, problems);
  }
  const merged = mergeCandleFiles(options.files, { lastCandles: 0, from: options.from, to: options.to });
  if (merged.steps.length === 0) throw new StartupError('no candles in the given files and time range');
  const span: Span = { from: merged.steps[0]!.candle.ts, to: merged.steps.at(-1)!.candle.ts };
  const periodMs = Math.min(...options.files.map((f) => timeframeMs(f.timeframe)));
  let parts: Span[];
  try {
    parts = walkForwardParts(span, options.folds, periodMs);
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
  const currency = options.currency ?? quoteOf(options.files[0]!.symbol);
  const sweepId = randomBytes(6).toString('hex');
  const now = Date.now();
  const files = options.files.map((f) => relative(ctx.cwd, f.path));
  // Every worker on every host reads the files at the same path in its own checkout or image.
  const outside = options.files.filter((_, i) => files[i]!.split(sep).includes('..') || isAbsolute(files[i]!));
  if (outside.length > 0) throw new StartupError(`data files must be inside the project folder (${ctx.cwd}), where every worker finds them: ${outside.map((f) => f.path).join(', ')}`);
  const config = maskSecrets(ctx.config) as unknown as Record<string, unknown>;
  const runs: OptimizeRunMessage[] = [];
  for (let combo = 0; combo < combos.length; combo++) {
    for (const segment of ['full' as const, ...parts.map((_, k) => k)]) {
      runs.push({ ...stamp('optimize-run', 1, now), sweepId, combo, segment, span: segment === 'full' ? span : parts[segment]!, files, config, params: combos[combo]!, currency });
    }
  }
  const parentId = await ctx.queues.addSweep({ ...stamp('optimize-sweep', 1, now), sweepId, objective: options.objective, currency, grid: options.grid, span, parts }, runs);

  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) throw new StartupError(`sweep ${sweepId} interrupted; its jobs stay in the optimize queue (Bull Board)`);
    const parent = await ctx.queues.optimize.getJob(parentId);
    if (!parent) throw new Error(`sweep ${sweepId}: its parent job ${parentId} disappeared`);
    const state = await parent.getState();
    if (state === 'completed') return { sweepId, report: parent.returnvalue as OptimizeReport };
    if (state === 'failed') throw new Error(`sweep ${sweepId} failed: ${parent.failedReason}`);
    const counts = await parent.getDependenciesCount();
    options.onProgress?.((counts.processed ?? 0) + (counts.ignored ?? 0) + (counts.failed ?? 0), runs.length);
    if (Date.now() > deadline) throw new StartupError(`sweep ${sweepId} did not finish within ${Math.round(options.timeoutMs / 1000)} s: is a worker serving the optimize queue?`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

