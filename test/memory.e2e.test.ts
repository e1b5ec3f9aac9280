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

  it('gives every per-candle decision key and waiting note an expiry, so that they are bounded by age', async () => {
    const { ctx } = pipeline;
    const keys = await ctx.redis.keys(`${ctx.keys.root}:decision:*`);
    expect(keys).toHaveLength(CANDLES);
    const ttls = await Promise.all(keys.slice(0, 20).map((k) => ctx.redis.ttl(k)));
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
    // Notes of decisions waiting for their predecessor expire within the hour.
    const waiting = await ctx.redis.keys(`${ctx.keys.root}:coordinator:successor:*`);
    for (const k of waiting.slice(0, 20)) expect(await ctx.redis.ttl(k)).toBeGreaterThan(0);
    for (const k of waiting.slice(0, 20)) expect(await ctx.redis.ttl(k)).toBeLessThanOrEqual(3600);
  });

  it('trims the decision log stream to about its cap', async () => {
    const { ctx } = pipeline;
    const store = new DecisionStore(ctx.redis, { ...ctx.keys, decisionLog: `${ctx.keys.root}:decisions:log:trim-test` }, 50);
    for (let i = 0; i < 400; i++) await store.recordOnce({ symbol: 'TRIM/BTC', timeframe: '5m', candleTs: i * 300_000, action: 'hold' });
    const length = await ctx.redis.xlen(`${ctx.keys.root}:decisions:log:trim-test`);
    // MAXLEN ~ trims whole stream nodes (100 entries each by default): at most cap + one node.
    expect(length).toBeGreaterThanOrEqual(50);
    expect(length).toBeLessThanOrEqual(150);
  });
});
