import { afterAll, describe, expect, it } from 'vitest';
import { allQueueNames } from '../queues/names.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createContext, type Context } from '../src/main/context.ts';
import { runReplay, waitForDrain } from '../src/main/pipeline.ts';
import { FAST_RECOVERY, PersistentRedis, ROOT, WorkerFleet, deployment, keepKilling, spawnWorker, type Deployment } from './helpers/chaos.ts';
import { checkVenueLedger, checkPaperRun } from './helpers/invariants.ts';
import { startVenue } from './helpers/venue.ts';
import { RECONCILE_JOB } from '../processors/execution.ts';
import { BreakerStore } from '../src/store/breakerStore.ts';
import { dropPrefix, freshPrefix, redisUrl, waitFor } from './helpers/pipeline.ts';

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
async function replayUnder(ctx: Context, chaos: (signal: AbortSignal) => Promise<unknown>, options: { untilDecided?: number } = {}): Promise<void> {
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
    // Optionally keep the chaos going while most of the work is done, not only while candles are handed over.
    const deadline = Date.now() + 150_000;
    while (options.untilDecided && Date.now() < deadline && Number((await ctx.stats.counters()).decisions ?? 0) < options.untilDecided) await new Promise((r) => setTimeout(r, 200));
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
    cleanups.push(async () => d.remove());
    cleanups.push(() => dropPrefix(prefix));
    const ctx = await createContext(d.config, log, d.redisUrl, ROOT);
    cleanups.push(() => ctx.close());
    const fleet = new WorkerFleet(() => spawnWorker(d, allQueueNames(ctx.account)), 2);
    cleanups.push(() => fleet.stop());
    fleet.fill();

    // A kill each time 20 more candles are decided: as many kills on a slow, loaded machine as on a fast one.
    const decided = async () => Number((await ctx.stats.counters()).decisions ?? 0);
    const queues = [ctx.queues.ticks, ctx.queues.analysis, ctx.queues.coordinator, ctx.queues.execution];
    await replayUnder(ctx, (signal) => keepKilling({ fleet, queues, everyMs: 300, minAgeMs: 1000, signal, progress: { read: decided, step: 20 } }), { untilDecided: Math.floor(CANDLES * 0.9) });

    const report = await checkPaperRun(ctx);
    expect(fleet.kills, 'workers were killed while busy').toBeGreaterThanOrEqual(3);
    expect(fleet.exits, 'no worker exited on its own').toBe(0);
    expect(report.violations).toEqual([]);
    expect(report.decisions).toBe(CANDLES);
    expect(report.orders).toBeGreaterThan(0);
  }, 300_000);

  it('carries on after Redis is killed and restarted from its append-only file, and loses nothing', async () => {
    const redis = await PersistentRedis.start();
    cleanups.push(() => redis.stop());
    const prefix = freshPrefix('chaos-redis');
    const d = deployment(redis.url, prefix, REPLAY);
    cleanups.push(async () => d.remove());
    const ctx = await createContext(d.config, log, d.redisUrl, ROOT);
    // Redis is killed on purpose: connection errors are expected while the clients reconnect.
    for (const q of ctx.queues.all()) q.on('error', () => undefined);
    cleanups.push(() => ctx.close());
    const fleet = new WorkerFleet(() => spawnWorker(d, allQueueNames(ctx.account)), 2);
    cleanups.push(() => fleet.stop());
    fleet.fill();

    await replayUnder(ctx, async (signal) => {
      // The crashes come mid-run: once both workers serve the queues (a worker that starts while
      // Redis is down waits for it, redis.waitMs, and one that exits anyway is restarted by the fleet).
      await waitFor(async () => (await ctx.queues.coordinator.getWorkersCount().catch(() => 0)) >= 2, 60_000);
      while (!signal.aborted && redis.restarts < 2) {
        await new Promise((r) => setTimeout(r, 2500));
        if (!signal.aborted) await redis.crashAndRestart(1000);
      }
    });

    const report = await checkPaperRun(ctx);
    expect(redis.restarts).toBeGreaterThanOrEqual(1);
    expect(fleet.exits, 'no worker gave up on the restarted Redis').toBe(0);
    expect(report.violations).toEqual([]);
    expect(report.decisions).toBe(CANDLES);
    expect(report.orders).toBeGreaterThan(0);
  }, 300_000);

  it('places no order twice when the exchange is cut off and comes back mid-run, and the ledger matches it after reconciliation', async () => {
    const prefix = freshPrefix('chaos-venue');
    const policy = { failureThreshold: 3, windowMs: 10_000, cooldownMs: 500, maxCooldownMs: 1500 };
    const venue = await startVenue(prefix, { config: { 'execution.breaker': policy } });
    cleanups.push(() => venue.close());
    await venue.addWorker();
    const { mock, ctx } = venue;
    const breaker = new BreakerStore(ctx.redis, ctx.keys, 'binance', policy);
    const ids: string[] = [];
    // Orders keep coming, one every 150 ms, buys and sells; the exchange goes away twice meanwhile.
    let cutsDone = false;
    const sending = (async () => {
      for (let i = 0; i < 24 || !cutsDone; i++) {
        const id = `qb-ETHBTC-cut-${i}`;
        ids.push(id);
        await venue.send({ clientOrderId: id, side: i % 3 === 2 ? 'sell' : 'buy', amount: '0.1' });
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    let opened = 0;
    for (let cut = 0; cut < 2; cut++) {
      await new Promise((r) => setTimeout(r, 700));
      mock.setDown(true);
      await waitFor(async () => (await breaker.state()).status !== 'closed', 15_000);
      opened++;
      await new Promise((r) => setTimeout(r, 800));
      // While it is open nothing is sent: the queue is paused for every worker.
      expect(await ctx.queues.execution.isPaused()).toBe(true);
      mock.setDown(false);
      await waitFor(async () => (await breaker.state()).status === 'closed', 15_000);
    }
    cutsDone = true;
    await sending;
    for (const id of ids) expect(await (await venue.settled(id, 30_000)).getState(), id).toBe('completed');
    const job = await ctx.queues.execution.add(RECONCILE_JOB, {}, { jobId: `reconcile-chaos-${Date.now()}` });
    expect(await (await venue.settled(job.id!)).getState()).toBe('completed');

    const violations: string[] = [];
    await checkVenueLedger(ctx, mock, violations, { currencies: ['BTC', 'ETH'] });
    expect(violations).toEqual([]);
    expect(opened).toBe(2);
    for (const id of ids) expect(mock.ordersByClientId(id), id).toBe(1);
    expect(await ctx.ledger.sendingOrders()).toEqual([]);
    expect(mock.errors).toEqual([]);
  }, 120_000);
});
