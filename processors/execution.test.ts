import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stamp } from '../src/contracts/envelope.ts';
import type { ExecutionMessage, NotificationMessage } from '../src/contracts/messages.ts';
import { loadMarketRules } from '../src/core/marketRulesSchema.ts';
import { PaperGateway } from '../src/exchange/paper/paperGateway.ts';
import { createLogger } from '../src/infra/logger.ts';
import { keyspace } from '../src/infra/keys.ts';
import { createRedis, type Redis } from '../src/infra/redis.ts';
import { CandleStore } from '../src/store/candleStore.ts';
import { LedgerStore } from '../src/store/ledgerStore.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { candleAt } from '../src/core/candle.ts';
import { notifyFilled } from './common.ts';
import { executionProcessor } from './execution.ts';

// The execution stage with a limit order: placed resting, filled later by candles, never twice.

const rules = loadMarketRules(JSON.parse(readFileSync(new URL('../data/markets.json', import.meta.url), 'utf8')));
const D = 1515560100000;
const TF = 300_000;

describe('execution of a limit order', () => {
  const prefix = `t-exec-${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let ledger: LedgerStore;
  let candles: CandleStore;
  let gateway: PaperGateway;
  const notified: NotificationMessage[] = [];
  const counters: Record<string, number> = {};
  let run: (m: ExecutionMessage) => Promise<Record<string, unknown>>;
  const queues = { execution: { name: 'execution-paper' }, notify: async (n: NotificationMessage) => void notified.push(n) } as unknown as Queues;

  beforeAll(async () => {
    redis = createRedis(inject('redisUrl'));
    const keys = keyspace(prefix);
    candles = new CandleStore(redis, keys, 100);
    ledger = new LedgerStore(redis, keys, 'paper', candles);
    await ledger.ensureAccount({ BTC: '1' });
    gateway = new PaperGateway('paper', ledger, rules, { slippageBps: 5 });
    const stats = { incr: async (f: string) => void (counters[f] = (counters[f] ?? 0) + 1), reject: async () => {} } as unknown as StatsStore;
    const processor = executionProcessor({ gateway, stats, queues, log: createLogger({ level: 'silent', format: 'json' }), now: () => 1, maxStartedAttempts: 30 });
    run = async (m) => (await processor({ id: m.intent.clientOrderId, data: m, name: m.intent.side } as Job)) as Record<string, unknown>;
    await candles.store('ADA/BTC', '5m', { ts: D, open: 0.0000533, high: 0.0000533, low: 0.00005288, close: 0.0000529, volume: 431401.978695 }, null);
  });
  afterAll(async () => {
    const found = await redis.keys(`{${prefix}}*`);
    if (found.length > 0) await redis.unlink(...found);
    await redis.quit();
  });

  const message = (intent: ExecutionMessage['intent']): ExecutionMessage => ({ ...stamp('execution', 1, 1), account: 'paper', intent, timeframe: '5m', seenAt: 1 });
  const limit = { clientOrderId: 'qb-ADABTC-exec-limit', symbol: 'ADA/BTC', side: 'buy', type: 'limit', amount: '1000', price: '0.00005280', decisionTs: D, reason: 'test', expiresAfterMs: 6 * TF } as const;

  it('places it resting, lets a later candle fill it, and never places it twice', async () => {
    expect(await run(message(limit))).toMatchObject({ type: 'limit', status: 'open', duplicate: false, filledAmount: '0', remaining: '1000', fills: 0, fill: null });
    const next = { ts: D + TF, open: 0.0000529, high: 0.00005294, low: 0.00005269, close: 0.0000527, volume: 311565.654583 };
    await candles.store('ADA/BTC', '5m', next, D);
    const [filled] = await gateway.onCandle('ADA/BTC', '5m', next, 2);
    expect(filled).toMatchObject({ status: 'filled', filledAmount: '1000', fill: { price: '0.0000528', fee: '0.0000528', ts: D + TF } });
    expect(await run(message(limit))).toMatchObject({ status: 'filled', duplicate: true, fills: 1, filledAmount: '1000' });
    expect(counters['orders.duplicate-suppressed']).toBe(1);
    expect(await ledger.fills()).toHaveLength(1);
  });

  it('fails a limit order the venue refuses at once, with the reason, and notifies it with its price', async () => {
    const bad = message({ ...limit, clientOrderId: 'qb-ADABTC-exec-bad', price: '0.000052805' });
    await expect(run(bad)).rejects.toThrow(expect.objectContaining({ name: 'UnrecoverableError', message: expect.stringMatching(/rejected by the venue: .*tick/) }));
    expect(notified.at(-1)).toMatchObject({ event: 'order.rejected', title: 'buy 1000 ADA/BTC at 0.000052805 rejected' });
    expect(await ledger.getOrder('qb-ADABTC-exec-bad')).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/tick/) });
  });

  it('notifies a paper market order once, when the candle after its decision fills it, however often the job runs', async () => {
    const market = { clientOrderId: 'qb-ADABTC-exec-market', symbol: 'ADA/BTC', side: 'buy', type: 'market', amount: '100', decisionTs: D, reason: 'test' } as const;
    expect(await run(message(market))).toMatchObject({ status: 'open', duplicate: false });
    expect(await run(message(market))).toMatchObject({ status: 'open', duplicate: true });
    expect(notified.filter((n) => n.event === 'order.filled')).toHaveLength(0);
    // What the coordinator does on the next candle of the market (processors/coordinator.ts).
    const next = (await candles.window('ADA/BTC', '5m', D + TF, 1));
    await notifyFilled(queues, await gateway.onCandle('ADA/BTC', '5m', candleAt(next, 0), 3), 3);
    await notifyFilled(queues, await gateway.onCandle('ADA/BTC', '5m', candleAt(next, 0), 4), 4);
    const fills = notified.filter((n) => n.event === 'order.filled');
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ priority: 'info', dedupeKey: 'qb-ADABTC-exec-market', title: expect.stringMatching(/^buy 100 ADA filled at 0\.0000529\d* BTC$/) });
    expect(fills[0]!.body).toMatch(/^ADA\/BTC market order qb-ADABTC-exec-market: 1 fill, cost 0\.00529\d* BTC, last fee \S+ BTC; test$/);
  });

  it('fails a job whose limit intent has no price at once', async () => {
    const { price: _, ...noPrice } = limit;
    await expect(run(message({ ...noPrice, clientOrderId: 'qb-ADABTC-exec-noprice' } as never))).rejects.toThrow(/intent\.price/);
  });
});
