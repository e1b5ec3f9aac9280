import { readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrackRecord } from '../src/coordinator/trackRecord.ts';
import { marketKey } from '../src/core/market.ts';
import { runCcxtFeed } from '../src/main/liveFeed.ts';
import { waitForDrain } from '../src/main/pipeline.ts';
import { startMockBinance } from './mockExchange/mockBinance.ts';
import { freshPrefix, startPipeline, testConfig } from './helpers/pipeline.ts';
import { venueOverrides } from './helpers/venue.ts';

// The whole pipeline in testnet mode: candles polled from the (mock) exchange through ccxt,
// bots, coordinator and risk, and orders placed back on it through ccxt.

const TF = 300_000;
const LAST_TS = Number(readFileSync(new URL('../data/ohlcv/ETH_BTC-5m.csv', import.meta.url), 'utf8').trim().split('\n').at(-1)!.split(',')[0]);
const SEEDED: TrackRecord = { n: 50, sum: 0.5, sumSq: 0.03, hits: 40, lastTs: 0 };

describe('testnet trading end to end (mock Binance)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('trades polled candles on the exchange, once per decision, and the ledger agrees with the exchange', async () => {
    const mock = await startMockBinance({ balances: { BTC: '1', ETH: '0' } });
    cleanups.push(() => mock.close());
    const prefix = freshPrefix('testnet');
    const config = testConfig(prefix, {
      ...venueOverrides(mock),
      'feed.source': 'ccxt',
      'feed.markets': ['ETH/BTC'],
      'feed.history': 40,
      'bots.dir': 'test/fixtures/risk-bots',
      'bots.instances': [{ id: 'buyer', bot: 'always-buy' }],
      'coordinator.minVoters': 1,
      'coordinator.trackRecord.horizonCandles': 1000,
      'risk.volatilityTarget': 0,
      'risk.maxCorrelation': 1,
      'risk.maxVar': 1,
      'risk.minEdgeSamples': 1,
      'risk.maxPositionFraction': 0.1,
    });
    const pipeline = await startPipeline(config);
    cleanups.push(() => pipeline.close());
    const { ctx } = pipeline;
    await ctx.redis.hset(ctx.keys.trackRecords(marketKey('ETH/BTC'), '5m'), 'buyer', JSON.stringify(SEEDED));

    const report = await runCcxtFeed(ctx, { once: true, now: () => LAST_TS + TF + 1000 });
    expect(report.emitted).toBeGreaterThanOrEqual(40);
    expect(await waitForDrain(ctx, { timeoutMs: 60_000 })).toBe(true);

    const orders = mock.orders().filter((o) => o.clientOrderId.startsWith('qb-ETHBTC-'));
    expect(orders.length).toBeGreaterThanOrEqual(1);
    for (const o of orders) {
      expect(mock.ordersByClientId(o.clientOrderId)).toBe(1);
      expect(await ctx.ledger.getOrder(o.clientOrderId)).toMatchObject({ status: 'filled', venueOrderId: String(o.orderId) });
    }
    // The position the ledger holds is what the exchange's trades bought, net of fees in ETH.
    const { state } = await ctx.ledger.snapshot();
    const bought = mock.trades().reduce((s, t) => s.plus(String(t.qty)).minus(String(t.commission)), new Decimal(0));
    expect(state.positions['ETH/BTC']?.amount).toBe(bought.toFixed());
    expect(new Decimal(state.cash.BTC!).toFixed()).toBe(new Decimal(mock.balance('BTC').free).toFixed());
  }, 120_000);
});
