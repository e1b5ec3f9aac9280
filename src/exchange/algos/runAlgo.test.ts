import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Candle } from '../../core/candle.ts';
import { loadMarketRules } from '../../core/marketRulesSchema.ts';
import type { OrderIntent } from '../../core/order.ts';
import { keyspace } from '../../infra/keys.ts';
import { createRedis, deleteDeploymentKeys, type Redis } from '../../infra/redis.ts';
import { CandleStore } from '../../store/candleStore.ts';
import { LedgerStore } from '../../store/ledgerStore.ts';
import { PaperGateway } from '../paper/paperGateway.ts';
import { advanceAlgo } from './runAlgo.ts';
import { planSlices } from './slicing.ts';

// TWAP and iceberg on the paper venue: children fill on later candles, in schedule order.

const TF = 300_000;
const CANDLES: Candle[] = readFileSync(new URL('../../../data/ohlcv/ADA_BTC-5m.csv', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 8)
  .map((line) => {
    const [ts, open, high, low, close, volume] = line.split(',').map(Number) as [number, number, number, number, number, number];
    return { ts, open, high, low, close, volume };
  });
const ADA = loadMarketRules(JSON.parse(readFileSync(new URL('../../../data/markets.json', import.meta.url), 'utf8')))['ADA/BTC']!;
const settings = { thresholdQuote: '0.01', slices: 3, intervalMs: TF, visibleShare: 0.5 };

describe('execution algorithms on the paper venue', () => {
  const redis: Redis = createRedis(inject('redisUrl'));
  const prefixes: string[] = [];
  let gateway: PaperGateway;
  let ledger: LedgerStore;

  beforeEach(async () => {
    const prefix = `t-algo-${randomBytes(4).toString('hex')}`;
    prefixes.push(prefix);
    const keys = keyspace(prefix);
    const candles = new CandleStore(redis, keys, 1000);
    ledger = new LedgerStore(redis, keys, 'paper', candles);
    await ledger.ensureAccount({ BTC: '10' });
    gateway = new PaperGateway('paper', ledger, { 'ADA/BTC': ADA }, { slippageBps: 0 });
    for (let i = 0; i < CANDLES.length; i++) await candles.store('ADA/BTC', '5m', CANDLES[i]!, i === 0 ? null : CANDLES[i - 1]!.ts);
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteDeploymentKeys(redis, p);
    await redis.quit();
  });

  const parent = (over: Partial<OrderIntent> = {}): OrderIntent =>
    ({ clientOrderId: 'qb-ADABTC-algo-parent', symbol: 'ADA/BTC', side: 'buy', type: 'market', amount: '3000', decisionTs: CANDLES[0]!.ts, reason: 'test', ...over }) as OrderIntent;
  const clock = { now: 1, startedAt: 1, realTime: false, pollMs: 100 };

  /** Advances the algo, and hands the venue each later candle as the coordinator would, until it is done. */
  async function runThroughCandles(intent: OrderIntent, plan: ReturnType<typeof planSlices>) {
    let progress = await advanceAlgo(gateway, intent, '5m', plan, clock);
    for (let i = 1; i < CANDLES.length && !progress.done; i++) {
      await gateway.onCandle('ADA/BTC', '5m', CANDLES[i]!, 1);
      progress = await advanceAlgo(gateway, intent, '5m', plan, clock);
    }
    return progress;
  }

  it('stops at a child the venue refuses, listing the ones never sent', async () => {
    const offTick = parent({ type: 'limit', price: '0.0000512345678' } as Partial<OrderIntent>);
    const plan = planSlices({ ...offTick, price: '0.00005123' } as OrderIntent, '0.00005', ADA, { kind: 'twap', ...settings });
    const progress = await advanceAlgo(gateway, offTick, '5m', plan, clock);
    expect(progress).toMatchObject({ done: true, failed: expect.stringMatching(/child 1\/3 .* rejected: .*tick/) });
    expect(progress.children.map((c) => c.status)).toEqual(['rejected', 'waiting', 'waiting']);
  });

  it('fills the TWAP children one candle apart, at each candle open, summing to the parent', async () => {
    const plan = planSlices(parent(), String(CANDLES[0]!.close), ADA, { kind: 'twap', ...settings });
    expect(plan.algo).toBe('twap');
    const progress = await runThroughCandles(parent(), plan);
    expect(progress.done).toBe(true);
    const fills = await ledger.fills();
    expect(fills.map((f) => f.ts)).toEqual([CANDLES[1]!.ts, CANDLES[2]!.ts, CANDLES[3]!.ts]);
    expect(fills.map((f) => Number(f.price))).toEqual([CANDLES[1]!.open, CANDLES[2]!.open, CANDLES[3]!.open]);
    expect(fills.reduce((s, f) => s + Number(f.amount), 0)).toBe(3000);
    // Run again: every child is found by its id, nothing is placed twice.
    await advanceAlgo(gateway, parent(), '5m', plan, clock);
    expect(await ledger.fills()).toHaveLength(3);
  });

  it('sends an iceberg child only after the one before it filled, on the candles after that fill', async () => {
    const intent = parent({ type: 'limit', price: (CANDLES[0]!.high * 1.05).toFixed(8) } as Partial<OrderIntent>);
    const plan = planSlices(intent, String(CANDLES[0]!.close), ADA, { kind: 'iceberg', ...settings });
    expect(plan.children.map((c) => c.amount)).toEqual(['1500', '1500']);
    // The first child fills on the candle after the decision, and only then is the second sent,
    // to fill on the candles after that fill.
    const progress = await runThroughCandles(intent, plan);
    expect(progress.done).toBe(true);
    const fills = await ledger.fills();
    expect(fills.map((f) => f.clientOrderId)).toEqual(plan.children.map((c) => c.clientOrderId));
    expect(fills.map((f) => f.ts)).toEqual([CANDLES[1]!.ts, CANDLES[2]!.ts]);
  });
});
