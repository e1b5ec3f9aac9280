import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OptimizeReport, SweepRun } from '../src/backtest/optimize.ts';
import { withParameters } from '../src/config/parameters.ts';
import { runBacktest } from '../src/main/backtest.ts';
import { runSweep } from '../src/main/optimize.ts';
import { startWorkers, type RunningWorkers } from '../src/main/workers.ts';
import { QUEUE } from '../queues/names.ts';
import { ROOT, STARTER_INSTANCES, dropPrefix, freshPrefix, redisUrl, startPipeline, testConfig, type TestPipeline } from './helpers/pipeline.ts';

const OVERRIDES = {
  'replay.files': ['data/ohlcv/XMR_BTC-5m.csv'],
  'coordinator.minVoters': 1,
  'coordinator.trackRecord.horizonCandles': 3,
  'risk.minEdgeSamples': 3,
  'bots.instances': STARTER_INSTANCES,
};
const GRID = { 'ema-fast.fast': [5, 9], 'coordinator.minAgreement': [0.5, 0.6] };
const FROM = Date.UTC(2018, 0, 28);

describe('quorum optimize: a parameter sweep as jobs', () => {
  const prefix = freshPrefix('optimize');
  let pipeline: TestPipeline;
  let local: RunningWorkers;
  let child: ChildProcess;
  let report: OptimizeReport;

  beforeAll(async () => {
    pipeline = await startPipeline(testConfig(prefix, OVERRIDES), { queues: [] });
    // A second worker process takes part, as a worker on another host would.
    child = spawn(process.execPath, ['bin/quorum.js', 'worker', '--queues', QUEUE.optimize], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: redisUrl(), QUORUM_REDIS_PREFIX: prefix, QUORUM_LOG_LEVEL: 'warn', QUORUM_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // Both workers are serving before the sweep is queued, so that both take part.
    while ((await pipeline.ctx.queues.optimize.getWorkersCount()) < 1) await new Promise((r) => setTimeout(r, 100));
    local = await startWorkers(pipeline.ctx, [QUEUE.optimize]);
    ({ report } = await runSweep(pipeline.ctx, { grid: GRID, objective: 'totalReturn', files: pipeline.ctx.replayFiles, from: FROM, folds: 2, timeoutMs: 240_000 }));
  }, 300_000);
  afterAll(async () => {
    child?.kill('SIGTERM');
    await local?.close();
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('runs every combination on the whole span and on each walk-forward part, shared by every worker process', async () => {
    const runs = await pipeline.ctx.queues.optimize.getJobs(['completed'], 0, -1);
    const backtests = runs.filter((j) => j.name === 'run');
    expect(backtests).toHaveLength(4 * (1 + 3));
    expect(new Set(backtests.map((j) => j.processedBy)).size).toBe(2);
    expect(report.failed).toEqual([]);
  });

  it('ranks the combinations by the objective, each figure that of a backtest with those parameters', async () => {
    expect(report.ranking).toHaveLength(4);
    const values = report.ranking.map((r) => r.objective!);
    expect([...values].sort((a, b) => b - a)).toEqual(values);
    const best = report.ranking[0]!;
    const applied = withParameters(pipeline.ctx.config, best.params);
    if (!applied.ok) throw new Error(applied.problems.join('; '));
    const direct = await runBacktest({ config: applied.config, files: pipeline.ctx.replayFiles, from: report.span.from, to: report.span.to, cwd: ROOT });
    expect(best.objective).toBe(direct.report.metrics[0]!.totalReturn);
    expect(best.trades).toBe(direct.report.trades.length);
  });

  it('reports walk-forward folds: chosen on one part, judged on the next, unseen', async () => {
    const { folds } = report.walkForward;
    expect(folds).toHaveLength(2);
    for (const f of folds) {
      expect(f.outOfSample.from).toBeGreaterThan(f.inSample.to);
      // The chosen combination was the best in sample.
      const runs = (await pipeline.ctx.queues.optimize.getJobs(['completed'], 0, -1)).filter((j) => j.name === 'run').map((j) => j.returnvalue as SweepRun);
      const inSample = runs.filter((r) => r.segment === f.fold - 1).map((r) => r.metrics?.totalReturn ?? -Infinity);
      expect(f.inSampleObjective).toBe(Math.max(...inSample));
    }
    expect(report.walkForward.inSampleMean).not.toBeNull();
  });

  it('refuses parameters that do not fit the config before queueing anything', async () => {
    const before = await pipeline.ctx.queues.optimize.count();
    await expect(runSweep(pipeline.ctx, { grid: { 'ema-fast.fast': [500] }, objective: 'sharpe', files: pipeline.ctx.replayFiles, folds: 1, timeoutMs: 1000 })).rejects.toMatchObject({ message: expect.stringContaining('do not fit the bots'), problems: expect.arrayContaining([expect.stringMatching(/ema-fast.*params.fast.*<=99/)]) });
    await expect(runSweep(pipeline.ctx, { grid: { 'nobody.fast': [5] }, objective: 'sharpe', files: pipeline.ctx.replayFiles, folds: 1, timeoutMs: 1000 })).rejects.toMatchObject({ problems: [expect.stringContaining('neither a config section nor a configured bot instance')] });
    expect(await pipeline.ctx.queues.optimize.count()).toBe(before);
  });
});
