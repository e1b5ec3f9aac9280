import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE } from '../queues/names.ts';
import { DecisionStore } from '../src/store/decisionStore.ts';
import type { RunSummary } from '../src/main/pipeline.ts';
import { candleSeriesKey } from './helpers/invariants.ts';
import { dropPrefix, freshPrefix, startPipeline, testConfig, type TestPipeline } from './helpers/pipeline.ts';

// What keeps Redis bounded during a long replay, checked on a replay longer than every bound
// (the soak, `npm run soak`, shows used_memory levelling off over a much longer one).

const CANDLES = 400;
const KEEP = 50;
// Below the candle series' cap (230 here), so the per-candle keys are kept at that cap instead.
const KEEP_DECISIONS = 100;

describe('bounded Redis during a long replay', () => {
  const prefix = freshPrefix('memory');
  let pipeline: TestPipeline;
  let summary: RunSummary;

  beforeAll(async () => {
    pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/ADA_BTC-5m.csv'],
        'replay.lastCandles': CANDLES,
        'bots.dir': 'test/fixtures/pipeline-bots',
        'bots.instances': [{ id: 'mom', bot: 'momentum' }],
        // Small windows, so that the series cap (largest window + 200) is well below the replay.
        'bots.windowSize': 30,
        'bots.trainingWindow': 30,
        'risk.correlationLookback': 10,
        'queues.keepCompleted': { age: 3600, count: KEEP },
        'coordinator.keepDecisions': KEEP_DECISIONS,
      }),
    );
    summary = await pipeline.replayAndDrain();
  }, 120_000);
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('caps each candle series at its window plus headroom', async () => {
    const { ctx } = pipeline;
    expect(summary.candles.stored).toBe(CANDLES);
    expect(ctx.candles.cap).toBeLessThan(CANDLES);
    expect(await ctx.redis.zcard(candleSeriesKey(ctx, 'ADA/BTC', '5m'))).toBe(ctx.candles.cap);
  });

  it('keeps no more finished jobs than queues.keepCompleted in any queue', async () => {
    const { ctx } = pipeline;
    for (const queue of [ctx.queues.ticks, ctx.queues.analysis, ctx.queues.coordinator]) {
      expect(summary.jobs[queue.name]!.completed, queue.name).toBeGreaterThan(KEEP * 2);
      const kept = await queue.getJobCountByTypes('completed');
      expect(kept, queue.name).toBeLessThanOrEqual(KEEP);
      // Trimmed jobs leave no hash behind: the queue's keys are about as many as the jobs kept.
      // (Our own notes of coordinators waiting for a predecessor share the name; they expire.)
      const keys = (await ctx.redis.keys(`${ctx.queues.prefix}:${queue.name}:*`)).filter((k) => !k.includes(':coordinator:successor:'));
      expect(keys.length, queue.name).toBeLessThan(KEEP * 3);
    }
    expect(summary.jobs[QUEUE.coordinator]!.completed).toBe(CANDLES);
  });

  it('keeps the per-candle keys of each series at their cap, the newest ones, each with an expiry', async () => {
    const { ctx } = pipeline;
    const cap = ctx.candles.cap;
    expect(ctx.decisions.keepPerSeries).toBe(cap);
    expect(ctx.risk.scoredPerSeries).toBe(cap);
    expect(cap).toBeLessThan(CANDLES);
    // Decisions: one key per candle, the newest `cap` of the series (the last one decided is among them).
    const keys = await ctx.redis.keys(`${ctx.keys.root}:decision:*`);
    expect(keys).toHaveLength(cap);
    const times = keys.map((k) => Number(k.split(':').at(-1))).sort((a, b) => a - b);
    const newest = (await ctx.redis.zrange(candleSeriesKey(ctx, 'ADA/BTC', '5m'), -1, -1, 'WITHSCORES'))[1];
    expect(times.at(-1)).toBe(Number(newest));
    expect(await ctx.decisions.get('ADA/BTC', '5m', times[0]!)).toBeDefined();
    expect(await ctx.redis.zcard(ctx.keys.decisionIndex('ADA-BTC', '5m'))).toBe(cap);
    for (const k of keys.slice(0, 20)) expect(await ctx.redis.ttl(k)).toBeGreaterThan(0);
    expect(await ctx.redis.ttl(ctx.keys.decisionIndex('ADA-BTC', '5m'))).toBeGreaterThan(0);
    // Track-record marks: one sorted set per series, every vote scored once, the newest `cap` remembered.
    const scored = ctx.keys.trackScored('ADA-BTC', '5m');
    expect(await ctx.redis.zcard(scored)).toBe(cap);
    expect(await ctx.redis.keys(`${ctx.keys.root}:trackrecord:scored:*`)).toEqual([scored]);
    expect(await ctx.redis.ttl(scored)).toBeGreaterThan(0);
    // Notes of decisions waiting for their predecessor: at most `cap` per series, expiring within the hour.
    const waiting = (await ctx.redis.keys(`${ctx.keys.root}:coordinator:successor:*`)).filter((k) => !k.includes(':successor:index:'));
    expect(waiting.length).toBeLessThanOrEqual(cap);
    for (const k of waiting.slice(0, 20)) expect(await ctx.redis.ttl(k)).toBeGreaterThan(0);
    for (const k of waiting.slice(0, 20)) expect(await ctx.redis.ttl(k)).toBeLessThanOrEqual(3600);
  });

  it('trims decision keys and waiting notes of a series to the store cap, oldest first', async () => {
    const { ctx } = pipeline;
    const store = new DecisionStore(ctx.redis, ctx.keys, 5);
    const step = 300_000;
    for (let i = 0; i < 20; i++) {
      await store.markWaiting('CAP/BTC', '5m', i * step, { queue: QUEUE.coordinator, jobId: `j${i}` });
      expect(await store.recordOnce({ symbol: 'CAP/BTC', timeframe: '5m', candleTs: i * step, action: 'hold' })).toBe(true);
    }
    const kept = (await ctx.redis.keys(`${ctx.keys.root}:decision:CAP-BTC:5m:*`)).map((k) => Number(k.split(':').at(-1))).sort((a, b) => a - b);
    expect(kept).toEqual([15, 16, 17, 18, 19].map((i) => i * step));
    expect(await store.get('CAP/BTC', '5m', 14 * step)).toBeUndefined();
    // A trimmed decision is not decided again by the store: it is a new candle time that would be.
    expect(await store.recordOnce({ symbol: 'CAP/BTC', timeframe: '5m', candleTs: 19 * step, action: 'buy' })).toBe(false);
    const notes = (await ctx.redis.keys(`${ctx.keys.root}:coordinator:successor:CAP-BTC:5m:*`)).map((k) => Number(k.split(':').at(-1))).sort((a, b) => a - b);
    expect(notes).toEqual([15, 16, 17, 18, 19].map((i) => i * step));
    expect(await store.takeWaiting('CAP/BTC', '5m', 19 * step)).toEqual([{ queue: QUEUE.coordinator, jobId: 'j19' }]);
    expect(await ctx.redis.zcard(ctx.keys.waitingIndex('CAP-BTC', '5m'))).toBe(4);
  });

  it('trims the decision log stream to about its cap', async () => {
    const { ctx } = pipeline;
    const store = new DecisionStore(ctx.redis, { ...ctx.keys, decisionLog: `${ctx.keys.root}:decisions:log:trim-test` }, 1000, 50);
    for (let i = 0; i < 400; i++) await store.recordOnce({ symbol: 'TRIM/BTC', timeframe: '5m', candleTs: i * 300_000, action: 'hold' });
    const length = await ctx.redis.xlen(`${ctx.keys.root}:decisions:log:trim-test`);
    // MAXLEN ~ trims whole stream nodes (100 entries each by default): at most cap + one node.
    expect(length).toBeGreaterThanOrEqual(50);
    expect(length).toBeLessThanOrEqual(150);
  });
});
