import { afterAll, describe, expect, it } from 'vitest';
import { allQueueNames } from '../queues/names.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createContext, type Context } from '../src/main/context.ts';
import { runReplay, waitForDrain } from '../src/main/pipeline.ts';
import { FAST_RECOVERY, PersistentRedis, ROOT, WorkerFleet, deployment, keepKilling, spawnWorker, type Deployment } from './helpers/chaos.ts';
import { checkPaperRun } from './helpers/invariants.ts';
import { dropPrefix, freshPrefix, redisUrl } from './helpers/pipeline.ts';

// Chaos during a replay, short form (the long one is `npm run soak`): worker processes killed
// with SIGKILL in the middle of jobs, Redis killed and restarted from its append-only file.
// Afterwards every replayed candle is decided exactly once, no order is placed twice, no
// decision is lost, and the ledger is the initial balances plus its fills.

const CANDLES = 2 * 80;
/** One quick bot that votes on every candle, and risk settings loose enough for it to trade. */
const REPLAY = {
  'replay.files': ['data/ohlcv/ZEC_BTC-5m.csv', 'data/ohlcv/DASH_BTC-5m.csv'],
  'replay.lastCandles': CANDLES / 2,
  'bots.dir': 'test/fixtures/pipeline-bots',
  'bots.instances': [{ id: 'mom', bot: 'momentum' }],
  'coordinator.minVoters': 1,
  'coordinator.trackRecord.horizonCandles': 1,
  'risk.volatilityTarget': 0,
  'risk.maxCorrelation': 1,
  'risk.maxVar': 1,
  'risk.minEdgeSamples': 1,
  ...FAST_RECOVERY,
};
const log = createLogger({ level: 'silent', format: 'json' });

/** Replays into the deployment from this process while `chaos` runs; returns once all is decided and drained. */
async function replayUnder(ctx: Context, chaos: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const stop = new AbortController();
  const chaosDone = chaos(stop.signal);
  const progress = process.env.CHAOS_DEBUG
    ? setInterval(() => {
        void (async () => {
          const counters = await ctx.stats.counters();
          const failed = await ctx.queues.coordinator.getFailed(0, 3);
          const counts = await Promise.all(ctx.queues.all().map(async (q) => [q.name, await q.getJobCounts()] as const));
          console.log(JSON.stringify({ decisions: counters.decisions, replayed: counters['candles.replayed'], failed: failed.map((j) => j.failedReason), counts }));
        })().catch(() => undefined);
      }, 5000)
    : undefined;
  try {
    await runReplay(ctx);
  } finally {
    stop.abort();
    await chaosDone;
    clearInterval(progress);
  }
  expect(await waitForDrain(ctx, { timeoutMs: 90_000 }), 'the pipeline drains after the chaos stops').toBe(true);
}

describe('chaos during a replay', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('loses and repeats nothing while worker processes are killed with SIGKILL in the middle of jobs', async () => {
    const prefix = freshPrefix('chaos-kill');
    const d: Deployment = deployment(redisUrl(), prefix, REPLAY);
    cleanups.push(() => dropPrefix(prefix));
    const ctx = await createContext(d.config, log, d.redisUrl, ROOT);
    cleanups.push(() => ctx.close());
    const fleet = new WorkerFleet(() => spawnWorker(d, allQueueNames(ctx.account)), 2);
    cleanups.push(() => fleet.stop());
    fleet.fill();

    await replayUnder(ctx, (signal) => keepKilling({ fleet, queues: [ctx.queues.ticks, ctx.queues.analysis, ctx.queues.coordinator, ctx.queues.execution], everyMs: 2000, minAgeMs: 3000, signal }));

    const report = await checkPaperRun(ctx);
    expect(fleet.kills, 'workers were killed while busy').toBeGreaterThanOrEqual(3);
    expect(report.violations).toEqual([]);
    expect(report.decisions).toBe(CANDLES);
    expect(report.orders).toBeGreaterThan(0);
  }, 240_000);

  it('carries on after Redis is killed and restarted from its append-only file, and loses nothing', async () => {
    const redis = await PersistentRedis.start();
    cleanups.push(() => redis.stop());
    const prefix = freshPrefix('chaos-redis');
    const d = deployment(redis.url, prefix, REPLAY);
    const ctx = await createContext(d.config, log, d.redisUrl, ROOT);
    cleanups.push(() => ctx.close());
    const fleet = new WorkerFleet(() => spawnWorker(d, allQueueNames(ctx.account)), 2);
    cleanups.push(() => fleet.stop());
    fleet.fill();

    await replayUnder(ctx, async (signal) => {
      while (!signal.aborted && redis.restarts < 2) {
        await new Promise((r) => setTimeout(r, 2500));
        if (!signal.aborted) await redis.crashAndRestart(1000);
      }
    });

    const report = await checkPaperRun(ctx);
    expect(redis.restarts).toBeGreaterThanOrEqual(1);
    expect(report.violations).toEqual([]);
    expect(report.decisions).toBe(CANDLES);
    expect(report.orders).toBeGreaterThan(0);
  }, 240_000);
});
