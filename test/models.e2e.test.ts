import { afterAll, describe, expect, it } from 'vitest';
import type { Decision } from '../processors/coordinator.ts';
import { timeframeMs } from '../src/core/timeframe.ts';
import { dropPrefix, freshPrefix, startPipeline, testConfig } from './helpers/pipeline.ts';

describe('a learning bot in the pipeline', () => {
  const prefix = freshPrefix('models');
  afterAll(async () => {
    await dropPrefix(prefix);
  });

  it('trains once per period on past candles only, stores the model, and reuses it for every analysis of the period', async () => {
    const retrainEvery = 100;
    const pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/XMR_BTC-5m.csv'],
        'replay.lastCandles': 450,
        'bots.instances': [{ id: 'forest', bot: 'ml-forest', params: { trainingWindow: 300, retrainEvery } }],
        'coordinator.minVoters': 1,
      }),
    );
    const { ctx } = pipeline;
    try {
      await pipeline.replayAndDrain();
      const decisions = ((await ctx.decisions.all()) as Decision[]).sort((a, b) => a.candleTs - b.candleTs);
      expect(decisions).toHaveLength(450);
      const period = retrainEvery * timeframeMs('5m');
      const periods = new Set(decisions.map((d) => Math.floor(d.candleTs / period)));
      const counters = await ctx.stats.counters();
      // One training per period the replay touched, however many analyses ran in it.
      expect(counters['models.trained']).toBe(periods.size);
      expect(counters[`jobs.analysis.completed`]).toBe(450);
      // Every stored model was trained on candles before its period only.
      const keys = await ctx.redis.keys(`${ctx.keys.root}:model:forest:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const stored = JSON.parse((await ctx.redis.get(key))!) as { periodStart: number; lastTrainedTs: number | null; trainedOn: number };
        if (stored.lastTrainedTs !== null) expect(stored.lastTrainedTs).toBeLessThan(stored.periodStart);
        expect(stored.trainedOn).toBeLessThanOrEqual(300);
      }
      // After the first period with history, the bot votes with its model rather than holding for want of one.
      const voted = decisions.filter((d) => d.votes.some((v) => v.instanceId === 'forest' && v.action !== 'hold'));
      expect(voted.length).toBeGreaterThan(0);
    } finally {
      await pipeline.close();
    }
  });
});
