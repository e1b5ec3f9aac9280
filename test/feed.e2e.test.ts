import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/infra/logger.ts';
import { createContext, type Context } from '../src/main/context.ts';
import { runCcxtFeed } from '../src/main/liveFeed.ts';
import { startMockBinance, type MockBinance } from './mockExchange/mockBinance.ts';
import { ROOT, dropPrefix, freshPrefix, redisUrl, testConfig } from './helpers/pipeline.ts';
import { venueOverrides } from './helpers/venue.ts';

// The ccxt feed: real ccxt binance polling klines from the mock exchange into the ticks queue.

const TF = 300_000;
const CSV = readFileSync(new URL('../data/ohlcv/ETH_BTC-5m.csv', import.meta.url), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
const LAST = CSV.at(-1)!;

describe('ccxt candle feed', () => {
  const prefix = freshPrefix('feed');
  let mock: MockBinance;
  let ctx: Context;

  beforeAll(async () => {
    mock = await startMockBinance();
    const config = testConfig(prefix, {
      ...venueOverrides(mock),
      'exchange.apiKey': undefined,
      'exchange.apiSecret': undefined,
      'feed.source': 'ccxt',
      'feed.markets': ['ETH/BTC'],
      'feed.timeframe': '5m',
      'feed.history': 20,
    });
    ctx = await createContext(config, createLogger({ level: 'silent', format: 'json' }), redisUrl(), ROOT);
  }, 30_000);
  afterAll(async () => {
    await ctx?.close();
    await mock?.close();
    await dropPrefix(prefix);
  });

  const ticks = async () => (await ctx.queues.ticks.getJobs(['waiting', 'prioritized'])).map((j) => j.data).sort((a, b) => a.candle.ts - b.candle.ts);

  it('brings the history of closed candles, exactly as the exchange has them, without keys', async () => {
    // Just after the last candle of the data closed.
    const report = await runCcxtFeed(ctx, { once: true, now: () => LAST[0]! + TF + 1000 });
    expect(report).toMatchObject({ rejected: 0, errors: 0 });
    const got = await ticks();
    expect(got.length).toBe(report.emitted);
    expect(got.length).toBeGreaterThanOrEqual(20);
    expect(got.at(-1)!.candle).toEqual({ ts: LAST[0], open: LAST[1], high: LAST[2], low: LAST[3], close: LAST[4], volume: LAST[5] });
    for (let i = 1; i < got.length; i++) expect(got[i]!.prevTs).toBe(got[i - 1]!.candle.ts);
    expect(mock.requests.every((r) => r.path.startsWith('/api/v3/') && !('signature' in r.params))).toBe(true);
    // Its requests were spent from the account's shared budget.
    expect(await ctx.redis.exists(ctx.keys.requestBudget('binance'))).toBe(1);
  }, 30_000);

  it('adds nothing on the next poll when no candle has closed since', async () => {
    const before = (await ticks()).length;
    const report = await runCcxtFeed(ctx, { once: true, now: () => LAST[0]! + TF + 60_000 });
    expect(report.emitted).toBe(0);
    expect((await ticks()).length).toBe(before);
  }, 30_000);
});
