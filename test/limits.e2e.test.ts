import { afterAll, describe, expect, it } from 'vitest';
import type { Decision } from '../processors/coordinator.ts';
import { marketKey } from '../src/core/market.ts';
import { dropPrefix, freshPrefix, startPipeline, testConfig } from './helpers/pipeline.ts';

describe('limit orders from market-making bots', () => {
  const prefix = freshPrefix('limits');
  afterAll(async () => {
    await dropPrefix(prefix);
  });

  it('rest at the limit price the bots asked for, fill on later candles at that price or better, and expire', async () => {
    const pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/XMR_BTC-5m.csv'],
        'replay.lastCandles': 400,
        'bots.instances': [{ id: 'mm', bot: 'market-maker' }],
        'coordinator.minVoters': 1,
        'coordinator.trackRecord.horizonCandles': 1000,
        'risk.minEdgeSamples': 1,
        'risk.volatilityTarget': 0,
        'risk.exits': { stopLoss: 0, atrStop: 0, trailingStop: 0, takeProfit: 0, maxHoldCandles: 0 },
      }),
    );
    const { ctx } = pipeline;
    // A seeded record gives the bot an edge, so Kelly sizes its entries.
    await ctx.redis.hset(ctx.keys.trackRecords(marketKey('XMR/BTC'), '5m'), 'mm', JSON.stringify({ n: 50, sum: 0.5, sumSq: 0.03, hits: 40, lastTs: 0 }));
    try {
      await pipeline.replayAndDrain();
      const decisions = ((await ctx.decisions.all()) as Decision[]).filter((d) => d.order?.limit);
      expect(decisions.length).toBeGreaterThan(0);
      const orders = await ctx.ledger.orders();
      const limitOrders = orders.filter((o) => o.intent.type === 'limit');
      expect(limitOrders.length).toBe(decisions.length);
      const filled = limitOrders.filter((o) => o.fillCount > 0);
      expect(filled.length).toBeGreaterThan(0);
      for (const o of limitOrders) {
        if (o.intent.type !== 'limit') continue;
        const d = decisions.find((x) => x.order!.clientOrderId === o.intent.clientOrderId)!;
        expect(o.intent.price).toBe(d.order!.limit!.price);
        expect(['filled', 'cancelled', 'open']).toContain(o.status);
        if (o.fillCount > 0) {
          // Never a worse price than the limit, and never on the decision candle.
          if (o.intent.side === 'buy') expect(Number(o.avgPrice)).toBeLessThanOrEqual(Number(o.intent.price));
          else expect(Number(o.avgPrice)).toBeGreaterThanOrEqual(Number(o.intent.price));
          expect(o.fill!.ts).toBeGreaterThan(o.intent.decisionTs);
        }
      }
      // What did not fill within its time was cancelled, with the reason.
      expect(limitOrders.filter((x) => x.status === 'cancelled').length).toBeGreaterThan(0);
      for (const o of limitOrders.filter((x) => x.status === 'cancelled')) expect(o.reason).toBeTruthy();
    } finally {
      await pipeline.close();
    }
  });
});
