import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Decision } from '../processors/coordinator.ts';
import { marketKey, quoteOf } from '../src/core/market.ts';
import { setTradingState } from '../src/main/riskReport.ts';
import type { TrackRecord } from '../src/coordinator/trackRecord.ts';
import type { Context } from '../src/main/context.ts';
import { QUEUE } from '../queues/names.ts';
import { ROOT, dropPrefix, freshPrefix, redisUrl, startPipeline, testConfig, waitFor } from './helpers/pipeline.ts';
import { nest } from './helpers/venue.ts';

/**
 * The risk engine under pressure from a bot that always wants in, on the real bundled markets.
 * Its track record is seeded with a clear edge so that fractional Kelly sizes every entry at the
 * per-market cap; the portfolio caps are all that stand between it and the whole account.
 */
const BUYER = 'buyer';
const SEEDED: TrackRecord = { n: 50, sum: 0.5, sumSq: 0.03, hits: 40, lastTs: 0 };

const riskOverrides = (extra: Record<string, unknown>) => ({
  'bots.dir': 'test/fixtures/risk-bots',
  'bots.instances': [{ id: BUYER, bot: 'always-buy' }],
  'coordinator.minVoters': 1,
  // Votes are scored this many candles later: beyond the run, so the seeded records stay as they are.
  'coordinator.trackRecord.horizonCandles': 1000,
  'risk.volatilityTarget': 0,
  'risk.maxCorrelation': 1,
  'risk.maxVar': 1,
  'risk.dailyLossLimit': 1,
  'risk.maxDrawdown': 1,
  'risk.minEdgeSamples': 1,
  ...extra,
});

async function seedTrackRecords(ctx: Context): Promise<void> {
  for (const f of ctx.replayFiles) await ctx.redis.hset(ctx.keys.trackRecords(marketKey(f.symbol), f.timeframe), BUYER, JSON.stringify(SEEDED));
}

describe('risk engine in the pipeline', () => {
  const prefixes: string[] = [];
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    for (const p of prefixes) await dropPrefix(p);
  });

  it('never breaches the total exposure cap or the open-position limit when two worker processes decide at once', async () => {
    const prefix = freshPrefix('riskcc');
    prefixes.push(prefix);
    const overrides = riskOverrides({
      'replay.files': ['data/ohlcv'],
      'replay.timeframes': ['5m'],
      'replay.lastCandles': 15,
      'risk.maxOpenPositions': 3,
      'risk.maxPositionFraction': 0.15,
      'risk.maxTotalExposure': 0.4,
      'risk.exits': { stopLoss: 0, atrStop: 0, trailingStop: 0, takeProfit: 0, maxHoldCandles: 0 },
      'workers.coordinator': 16,
    });
    // The coordinator runs only in two other OS processes, each deciding up to 16 markets at once.
    const pipeline = await startPipeline(testConfig(prefix, overrides), { queues: [QUEUE.ticks, QUEUE.analysis, 'execution-paper', QUEUE.notifications] });
    await seedTrackRecords(pipeline.ctx);
    const dir = mkdtempSync(join(tmpdir(), 'quorum-risk-'));
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify(nest({ ...overrides, 'redis.prefix': prefix, 'log.level': 'warn' })));
    for (let i = 0; i < 2; i++) {
      children.push(
        spawn(process.execPath, ['bin/quorum.js', '--config', configFile, 'worker', '--queues', 'coordinator'], {
          cwd: ROOT,
          env: { ...process.env, REDIS_URL: redisUrl(), QUORUM_LOG_FORMAT: 'json' },
          stdio: ['ignore', 'inherit', 'inherit'],
        }),
      );
    }
    await waitFor(async () => (await pipeline.ctx.queues.coordinator.getWorkersCount()) === 2, 30_000);
    await pipeline.replayAndDrain();

    const { ctx } = pipeline;
    const { state } = await ctx.ledger.snapshot();
    const held = Object.values(state.positions).filter((p) => quoteOf(p.symbol) === 'BTC' && new Decimal(p.amount).gt(0));
    const fills = await ctx.ledger.fills();
    const boughtMarkets = new Set(fills.filter((f) => f.side === 'buy' && quoteOf(f.symbol) === 'BTC').map((f) => f.symbol));
    const spent = held.reduce((sum, p) => sum.plus(p.costBasis), new Decimal(0));
    const counters = await ctx.stats.counters();
    const done = await ctx.queues.coordinator.getCompleted(0, 100_000);
    const processes = new Set(done.map((j) => j.processedBy));
    await pipeline.close();

    // Nothing is ever sold here, so every market bought is still held: at most 3, and the cap was reached.
    expect(boughtMarkets.size).toBe(held.length);
    expect(held.length).toBe(3);
    // 0.4 of an equity of about 1 BTC (prices moved a little between entries; fees are in the cost).
    expect(spent.toNumber()).toBeLessThanOrEqual(0.4 * 1.02);
    expect(spent.toNumber()).toBeGreaterThan(0.3);
    // The caps were pressed, by many decisions at once, from both processes.
    expect((counters['denials.open-positions'] ?? 0) + (counters['denials.exposure'] ?? 0)).toBeGreaterThan(20);
    expect(processes.size).toBe(2);
  });

  it('stops new entries once the kill switch is thrown halfway through a replay, and still exits', async () => {
    const prefix = freshPrefix('riskkill');
    prefixes.push(prefix);
    const pipeline = await startPipeline(
      testConfig(
        prefix,
        riskOverrides({
          'replay.files': ['data/ohlcv/ETH_BTC-5m.csv', 'data/ohlcv/LTC_BTC-5m.csv', 'data/ohlcv/XMR_BTC-5m.csv', 'data/ohlcv/ZEC_BTC-5m.csv'],
          'replay.lastCandles': 80,
          'risk.maxPositionFraction': 0.1,
          // Positions are closed after 6 candles: most of the time a market is held and not yet
          // exiting, so the switch finds positions that only the monitor can close.
          'risk.exits': { stopLoss: 0, atrStop: 0, trailingStop: 0, takeProfit: 0, maxHoldCandles: 6 },
          // Orders are not held back by the venue's rate limit: the test is about the gates.
          'exchange.ordersPerSecond': 1000,
        }),
      ),
    );
    const { ctx } = pipeline;
    await seedTrackRecords(ctx);
    const run = pipeline.replayAndDrain();
    // Halfway or so, at a moment when a position is open (so that the monitor has one to close).
    const holding = async () => Object.values((await ctx.ledger.snapshot()).state.positions).some((p) => Number(p.amount) > 0);
    await waitFor(async () => ((await ctx.stats.counters()).decisions ?? 0) >= 120 && (await holding()), 60_000);
    const haltedAt = Date.now();
    await setTradingState(ctx, 'HALTED', 'test: halfway', 'test');
    await run;

    const decisions = (await ctx.decisions.all()) as Decision[];
    const counters = await ctx.stats.counters();
    const { state } = await ctx.ledger.snapshot();
    await pipeline.close();

    expect(decisions).toHaveLength(320);
    // Every position open at the switch was closed by the monitor: the account ends flat.
    expect(Object.values(state.positions).filter((p) => Number(p.amount) > 0)).toEqual([]);
    const before = decisions.filter((d) => d.decidedAt < haltedAt);
    const after = decisions.filter((d) => d.decidedAt > haltedAt);
    expect(before.filter((d) => d.order?.side === 'buy').length).toBeGreaterThan(5);
    expect(after.length).toBeGreaterThan(50);
    // No new entry after the switch; every wish to buy was denied by the trading-state gate, with its reason.
    expect(after.filter((d) => d.order?.side === 'buy')).toEqual([]);
    const denied = after.filter((d) => d.risk.verdict === 'deny');
    expect(denied.length).toBeGreaterThan(0);
    for (const d of denied) expect(d.risk).toMatchObject({ gate: 'trading-state', reason: 'trading is HALTED: no new entries' });
    expect(counters['denials.trading-state']).toBeGreaterThan(0);
    // Exits still happen: the positions open at the switch are closed by the monitor.
    const exits = after.filter((d) => d.order?.purpose === 'exit');
    expect(exits.length).toBeGreaterThan(0);
    for (const d of exits) expect(d.exit?.kind).toBe('time-exit');
  });
});
