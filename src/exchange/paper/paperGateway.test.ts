import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Candle } from '../../core/candle.ts';
import type { MarketRules } from '../../core/market.ts';
import { loadMarketRules } from '../../core/marketRulesSchema.ts';
import type { LimitOrderIntent, MarketOrderIntent, OrderIntent } from '../../core/order.ts';
import { Dec, feeFor } from '../../core/precision.ts';
import { keyspace } from '../../infra/keys.ts';
import { createRedis, deleteDeploymentKeys, type Redis } from '../../infra/redis.ts';
import { CandleStore } from '../../store/candleStore.ts';
import { LedgerStore } from '../../store/ledgerStore.ts';
import { advanceLimitOrder } from './fillModel.ts';
import { PaperGateway } from './paperGateway.ts';

// The paper venue on a real Redis, fed real ADA/BTC candles the way the ticks stage feeds it.

const TF = 300_000;
const CANDLES: Candle[] = readFileSync(new URL('../../../data/ohlcv/ADA_BTC-5m.csv', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 12)
  .map((line) => {
    const [ts, open, high, low, close, volume] = line.split(',').map(Number) as [number, number, number, number, number, number];
    return { ts, open, high, low, close, volume };
  });
const [C0, C1, C2, C3] = CANDLES as [Candle, Candle, Candle, Candle];
// A maker fee unlike the taker fee, so that the wrong one shows.
const ADA: MarketRules = { ...loadMarketRules(JSON.parse(readFileSync(new URL('../../../data/markets.json', import.meta.url), 'utf8')))['ADA/BTC']!, maker: '0.0005' };

/** A buy at C1's low: C1 only touches it; C2 and C3 open below it (gaps) and trade through. */
const PRICE = String(C1.low);
const limit = (over: Partial<LimitOrderIntent> = {}): LimitOrderIntent => ({
  clientOrderId: 'qb-ADABTC-limit-0001',
  symbol: 'ADA/BTC',
  side: 'buy',
  type: 'limit',
  amount: '150000',
  price: PRICE,
  decisionTs: C0.ts,
  reason: 'test',
  ...over,
});

interface Venue {
  redis: Redis;
  candles: CandleStore;
  ledger: LedgerStore;
  gateway: PaperGateway;
}

const prefixes: string[] = [];
const clients: Redis[] = [];

async function venue(cash = '10', prefix = `t-paper-${randomBytes(4).toString('hex')}`): Promise<Venue> {
  if (!prefixes.includes(prefix)) prefixes.push(prefix);
  const redis = createRedis(inject('redisUrl'));
  clients.push(redis);
  const keys = keyspace(prefix);
  const candles = new CandleStore(redis, keys, 1000);
  const ledger = new LedgerStore(redis, keys, 'paper', candles);
  await ledger.ensureAccount({ BTC: cash });
  return { redis, candles, ledger, gateway: new PaperGateway('paper', ledger, { 'ADA/BTC': ADA }, { slippageBps: 0 }) };
}

/** Stores candle i of the series (after its predecessor), as the ticks stage does. */
async function store(v: Venue, i: number): Promise<void> {
  expect(await v.candles.store('ADA/BTC', '5m', CANDLES[i]!, i === 0 ? null : CANDLES[i - 1]!.ts)).toBe('stored');
}

async function storeAndTick(v: Venue, i: number) {
  await store(v, i);
  return v.gateway.onCandle('ADA/BTC', '5m', CANDLES[i]!, 1000 + i);
}

const place = (v: Venue, intent: OrderIntent) => v.gateway.placeOrder(intent, '5m', 999);

/** What C2 and C3 give the order: 10 % of each candle's volume, at the gapped open. */
const PART2 = Math.floor(C2.volume * 0.1);
const PART3 = 150000 - PART2;

afterEach(async () => {
  for (const prefix of prefixes.splice(0)) {
    await deleteDeploymentKeys(clients[0]!, prefix);
  }
  await Promise.all(clients.splice(0).map((c) => c.quit()));
});

describe('limit orders on the paper venue', () => {
  it('real candles: rest, ignore a touch, fill in parts on later candles that trade through, and apply each candle once', async () => {
    expect(C2.open < Number(PRICE) && C3.open < Number(PRICE) && PART3 < Math.floor(C3.volume * 0.1)).toBe(true); // the data is what this test assumes
    const v = await venue();
    await store(v, 0);
    const placed = await place(v, limit());
    expect(placed).toMatchObject({ duplicate: false, order: { status: 'open', filledAmount: '0', remaining: '150000', fillCount: 0 } });

    expect(await storeAndTick(v, 1)).toEqual([]); // low == price: a touch
    expect(await v.ledger.getOrder('qb-ADABTC-limit-0001')).toMatchObject({ status: 'open', fillCount: 0, matchedThrough: C1.ts });

    const [afterC2] = await storeAndTick(v, 2);
    expect(afterC2).toMatchObject({ status: 'open', filledAmount: String(PART2), remaining: String(PART3), fillCount: 1 });
    // The coordinator reads 'open' as unsettled: a partly filled order still is.
    expect((await v.ledger.getOrder('qb-ADABTC-limit-0001'))!.status).toBe('open');
    expect(await v.ledger.openOrderCount()).toBe(1);

    // A re-delivered candle changes nothing.
    expect(await v.gateway.onCandle('ADA/BTC', '5m', C2, 2000)).toEqual([]);
    expect(await v.gateway.onCandle('ADA/BTC', '5m', C1, 2001)).toEqual([]);
    expect(await v.ledger.fills()).toHaveLength(1);

    const [afterC3] = await storeAndTick(v, 3);
    expect(afterC3).toMatchObject({ status: 'filled', filledAmount: '150000', remaining: '0', fillCount: 2 });
    expect(await storeAndTick(v, 4)).toEqual([]);

    const fills = await v.ledger.fills();
    const expected = [
      { ts: C2.ts, amount: String(PART2), price: String(C2.open) },
      { ts: C3.ts, amount: String(PART3), price: String(C3.open) },
    ].map((f) => ({ ...f, clientOrderId: 'qb-ADABTC-limit-0001', symbol: 'ADA/BTC', side: 'buy', feeCurrency: 'BTC', fee: feeFor(new Dec(f.amount).times(f.price), '0.0005').toFixed() }));
    expect(fills).toEqual(expected);
    const spent = fills.reduce((s, f) => s.plus(new Dec(f.amount).times(f.price)).plus(f.fee), new Dec(0));
    const { state } = await v.ledger.snapshot();
    expect(state.cash.BTC).toBe(new Dec(10).minus(spent).toFixed());
    expect(state.positions['ADA/BTC']!.amount).toBe('150000');
    const counters = await v.redis.hgetall(keyspace(prefixes[0]!).counters);
    expect(counters).toMatchObject({ orders: '1', fills: '2', 'orders.filled': '1' });
    expect(counters['orders.open']).toBeUndefined();
    expect(await v.ledger.openOrderCount()).toBe(0);
  });

  it('fills nothing when placed, and catches up in order on the next candle it is given', async () => {
    const v = await venue();
    for (let i = 0; i <= 3; i++) await storeAndTick(v, i);
    const { order } = await place(v, limit());
    // Placement never fills: the account changes only when a candle is decided, in candle order.
    expect(order).toMatchObject({ status: 'open', fillCount: 0 });
    expect(await v.ledger.fills()).toEqual([]);
    const [after] = await v.gateway.onCandle('ADA/BTC', '5m', C3, 2000);
    expect(after).toMatchObject({ status: 'filled', fillCount: 2, matchedThrough: C3.ts });
    expect((await v.ledger.fills()).map((f) => [f.ts, f.amount])).toEqual([
      [C2.ts, String(PART2)],
      [C3.ts, String(PART3)],
    ]);
    expect(await place(v, limit())).toMatchObject({ duplicate: true, order: { status: 'filled' } });
  });

  it('fills a market order placed after its next candle was stored at that candle, on the next call', async () => {
    const v = await venue();
    for (let i = 0; i <= 2; i++) await store(v, i);
    const { order } = await place(v, { clientOrderId: 'qb-ADABTC-market-0001', symbol: 'ADA/BTC', side: 'buy', type: 'market', amount: '1000', decisionTs: C0.ts, reason: 'test' });
    expect(order.status).toBe('open');
    expect(await v.ledger.fills()).toEqual([]);
    await v.gateway.onCandle('ADA/BTC', '5m', C2, 2000);
    expect((await v.ledger.fills()).map((f) => [f.ts, f.amount])).toEqual([[C1.ts, '1000']]);
  });

  it('gives the same fills whatever order the candles are delivered in', async () => {
    const v = await venue();
    await store(v, 0);
    await place(v, limit());
    for (let i = 1; i <= 3; i++) await store(v, i);
    // The last candle first (its tick ran on a faster worker): it catches up on the earlier ones in order.
    await v.gateway.onCandle('ADA/BTC', '5m', C3, 1);
    await v.gateway.onCandle('ADA/BTC', '5m', C2, 2);
    await v.gateway.onCandle('ADA/BTC', '5m', C1, 3);
    expect((await v.ledger.fills()).map((f) => [f.ts, f.amount, f.price])).toEqual([
      [C2.ts, String(PART2), String(C2.open)],
      [C3.ts, String(PART3), String(C3.open)],
    ]);
  });

  it('applies each fill once when two processes race on the same candles', async () => {
    const prefix = `t-paper-race-${randomBytes(4).toString('hex')}`;
    const a = await venue('1000', prefix);
    const b = await venue('1000', prefix);
    await store(a, 0);
    const intents = [0, 1, 2, 3, 4, 5].map((i) =>
      limit({ clientOrderId: `qb-ADABTC-race-${i}`, amount: String(40000 + i * 25000), price: new Dec(PRICE).plus(new Dec('0.00000001').times(i - 2)).toFixed(), side: 'buy' }),
    );
    for (const intent of intents) await place(a, intent);
    for (let i = 1; i <= 6; i++) await store(a, i);
    await Promise.all([6, 3, 1, 5, 2, 4].flatMap((i) => [a, b, a].map((v) => v.gateway.onCandle('ADA/BTC', '5m', CANDLES[i]!, i))));

    const fills = await a.ledger.fills();
    const keys = fills.map((f) => `${f.clientOrderId}@${f.ts}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(Number((await a.redis.hget(keyspace(prefix).counters, 'fills'))!)).toBe(fills.length);
    // Each order ends exactly as the pure model matches it on its own (cash is ample, so orders do not interact).
    const { state } = await a.ledger.snapshot();
    let spent = new Dec(0);
    for (const intent of intents) {
      const stored = (await a.ledger.getOrder(intent.clientOrderId))!;
      const alone = advanceLimitOrder({ account: { ...state, cash: { BTC: '1000' } }, order: { ...stored, status: 'open', filledAmount: '0', remaining: intent.amount, filledCost: '0', avgPrice: '0', fillCount: 0, matchedThrough: undefined }, rules: ADA, candles: CANDLES.slice(0, 7), volumeShare: 0.1, feeRate: '0.0005', now: 0 });
      const own = fills.filter((f) => f.clientOrderId === intent.clientOrderId);
      expect(own).toEqual(alone?.fills ?? []);
      expect(stored).toMatchObject({ filledAmount: alone!.order.filledAmount, status: alone!.order.status, fillCount: own.length });
      for (const f of own) spent = spent.plus(new Dec(f.amount).times(f.price)).plus(f.fee);
    }
    expect(fills.length).toBeGreaterThan(6);
    expect(state.cash.BTC).toBe(new Dec(1000).minus(spent).toFixed());
  });

  it('cancels on request, keeping its fills, once', async () => {
    const v = await venue();
    await store(v, 0);
    await place(v, limit());
    for (let i = 1; i <= 2; i++) await storeAndTick(v, i);
    const cancelled = await v.gateway.cancelOrder('qb-ADABTC-limit-0001', 'operator: flatten', 5000);
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'operator: flatten', filledAmount: String(PART2), remaining: String(PART3), fillCount: 1 });
    expect(await v.gateway.cancelOrder('qb-ADABTC-limit-0001', 'again', 6000)).toEqual(cancelled);
    expect(await v.gateway.cancelOrder('qb-nothing', 'x', 6000)).toBeUndefined();
    expect(await storeAndTick(v, 3)).toEqual([]);
    expect(await v.ledger.fills()).toHaveLength(1);
    expect(await v.ledger.openOrderCount()).toBe(0);
    expect(await v.redis.hget(keyspace(prefixes[0]!).counters, 'orders.cancelled')).toBe('1');
  });

  it('cancels the rest of a buy the cash cannot pay for, without failing the tick', async () => {
    const v = await venue('4');
    await store(v, 0);
    await place(v, limit({ clientOrderId: 'qb-ADABTC-small', amount: '1000' }));
    await place(v, limit());
    await storeAndTick(v, 1);
    // C2 fills the small order whole and the big one's first part; C3's part costs more than is left.
    expect((await storeAndTick(v, 2)).map((o) => [o.intent.clientOrderId, o.status]).sort()).toEqual([
      ['qb-ADABTC-limit-0001', 'open'],
      ['qb-ADABTC-small', 'filled'],
    ]);
    const [big] = await storeAndTick(v, 3);
    expect(big).toMatchObject({ status: 'cancelled', filledAmount: String(PART2), fillCount: 1, reason: expect.stringMatching(/^cancelled at candle \d+: buy qb-ADABTC-limit-0001 needs .* BTC but only .* is free/) });
    const cash = new Dec((await v.ledger.snapshot()).state.cash.BTC!);
    expect(cash.isNegative()).toBe(false);
    expect(cash.lt(new Dec(PART3).times(C3.open))).toBe(true);
    expect(await v.ledger.fills()).toHaveLength(2);
  });

  it('cancels the rest of a sell beyond what is held', async () => {
    const v = await venue('1');
    await store(v, 0);
    await place(v, { clientOrderId: 'qb-ADABTC-market', symbol: 'ADA/BTC', side: 'buy', type: 'market', amount: '5000', decisionTs: C0.ts, reason: 'buy some' });
    await storeAndTick(v, 1);
    // One tick below the highest high to come: the candle that trades through would sell 9000, more than the 5000 held.
    const high = Math.max(...CANDLES.slice(2).map((c) => c.high));
    const price = new Dec(high).minus('0.00000001').toFixed();
    const sell = limit({ clientOrderId: 'qs-ADABTC-sell', side: 'sell', amount: '9000', price, decisionTs: C1.ts });
    expect((await place(v, sell)).order.status).toBe('open');
    for (let i = 2; i < CANDLES.length; i++) await storeAndTick(v, i);
    const order = (await v.ledger.getOrder('qs-ADABTC-sell'))!;
    expect(order).toMatchObject({ status: 'cancelled', fillCount: 0, reason: expect.stringMatching(/sell qs-ADABTC-sell of 9000 ADA exceeds the 5000 held/) });
    expect((await v.ledger.snapshot()).state.positions['ADA/BTC']!.amount).toBe('5000');
  });

  it('expires what is unfilled on the first candle at or past decision + expiresAfterMs', async () => {
    const v = await venue();
    await store(v, 0);
    await place(v, limit({ expiresAfterMs: 2 * TF }));
    await storeAndTick(v, 1); // a touch, no fill
    const [expired] = await storeAndTick(v, 2); // C2 would fill, but it opens at the expiry time
    expect(expired).toMatchObject({ status: 'cancelled', fillCount: 0, remaining: '150000', reason: expect.stringMatching(/^expired/) });
    expect(await v.ledger.fills()).toHaveLength(0);
  });

  it('rejects at placement a limit order the market would refuse', async () => {
    const v = await venue();
    await store(v, 0);
    expect((await place(v, limit({ price: '0.000052695' }))).order).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/tick/) });
    expect((await place(v, limit({ clientOrderId: 'qb-small', amount: '10' }))).order).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/below the minimum 0.001/) });
    expect(await v.redis.hget(keyspace(prefixes[0]!).counters, 'orders.rejected')).toBe('2');
  });

  it('still fills a market order whole at the next open with the taker fee', async () => {
    const v = await venue();
    await store(v, 0);
    const market: MarketOrderIntent = { clientOrderId: 'qb-ADABTC-market', symbol: 'ADA/BTC', side: 'buy', type: 'market', amount: '200', decisionTs: C0.ts, reason: 'test' };
    expect((await place(v, market)).order.status).toBe('open');
    const [filled] = await storeAndTick(v, 1);
    const fee = feeFor(new Dec(200).times(C1.open), ADA.taker).toFixed();
    expect(filled).toMatchObject({ status: 'filled', filledAmount: '200', remaining: '0', avgPrice: String(C1.open), fillCount: 1, fill: { price: String(C1.open), fee, ts: C1.ts } });
    expect(await v.ledger.fills()).toHaveLength(1);
  });
});

describe('LedgerStore', () => {
  it('never lands a settlement computed from an order or account that changed meanwhile: it recomputes', async () => {
    const v = await venue();
    const keys = keyspace(prefixes[0]!);
    const { order } = await place(v, limit());
    const seen: (number | undefined)[] = [];
    const after = await v.ledger.settle(order.intent.clientOrderId, (_account, current) => {
      seen.push(current.matchedThrough);
      // Another process settles between our read and our write (same connection: it lands first).
      if (seen.length === 1) void v.redis.hset(keys.orders('paper'), current.intent.clientOrderId, JSON.stringify({ ...current, matchedThrough: 42 }));
      return { order: { ...current, matchedThrough: (current.matchedThrough ?? 0) + 1 } };
    });
    expect(seen).toEqual([undefined, 42]);
    expect(after.matchedThrough).toBe(43);

    const versions: string[] = [];
    await v.ledger.settle(order.intent.clientOrderId, (account, current) => {
      versions.push(JSON.stringify(account.cash));
      if (versions.length === 1) void v.redis.hset(keys.ledger('paper'), 'state', JSON.stringify({ ...account, cash: { BTC: '9' } }), 'version', '7');
      return { order: current, account: { ...account, cash: { BTC: new Dec(account.cash.BTC!).minus(1).toFixed() } } };
    });
    expect(versions).toEqual(['{"BTC":"10"}', '{"BTC":"9"}']);
    expect((await v.ledger.snapshot()).state.cash).toEqual({ BTC: '8' });
  });

  it('reads an order stored before partial fills existed with its progress', async () => {
    const v = await venue();
    const intent: MarketOrderIntent = { clientOrderId: 'qb-old', symbol: 'ADA/BTC', side: 'buy', type: 'market', amount: '200', decisionTs: C0.ts, reason: 'old' };
    const fill = { clientOrderId: 'qb-old', symbol: 'ADA/BTC', side: 'buy', amount: '200', price: '0.0000529', fee: '0.00001058', feeCurrency: 'BTC', ts: C1.ts };
    await v.redis.hset(keyspace(prefixes[0]!).orders('paper'), 'qb-old', JSON.stringify({ intent, timeframe: '5m', status: 'filled', createdAt: 1, updatedAt: 2, fill }));
    expect(await v.ledger.getOrder('qb-old')).toMatchObject({ status: 'filled', filledAmount: '200', remaining: '0', filledCost: '0.01058', avgPrice: '0.0000529', fillCount: 1 });
  });
});
