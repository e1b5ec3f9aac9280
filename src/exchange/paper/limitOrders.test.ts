import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../../core/candle.ts';
import { initialAccount, type AccountState } from '../../core/ledger.ts';
import type { MarketRules } from '../../core/market.ts';
import { loadMarketRules } from '../../core/marketRulesSchema.ts';
import { newOrderRecord, type Fill, type LimitOrderIntent, type OrderRecord } from '../../core/order.ts';
import { Dec, feeFor, roundPrice } from '../../core/precision.ts';
import { advanceLimitOrder, checkLimitOrder, matchLimitOrder, type LimitAdvanceInput } from './fillModel.ts';

const TF = 300_000;
const D = 1515560100000; // decision candle open

/** Maker and taker differ, so that a taker fee charged by mistake shows. */
const TOY: MarketRules = {
  symbol: 'TOY/BTC',
  base: 'TOY',
  quote: 'BTC',
  precision: { amount: '0.01', price: '0.000001' },
  limits: { amount: { min: '0.01', max: '1000000' }, cost: { min: '0.0001' } },
  taker: '0.001',
  maker: '0.0005',
};

const intent = (over: Partial<LimitOrderIntent> = {}): LimitOrderIntent => ({
  clientOrderId: 'qb-TOYBTC-0123456789abcdef0123',
  symbol: 'TOY/BTC',
  side: 'buy',
  type: 'limit',
  amount: '10',
  price: '0.05',
  decisionTs: D,
  reason: 'test',
  ...over,
});

/** The n-th candle after the decision candle. */
const candle = (n: number, over: Partial<Omit<Candle, 'ts'>> = {}): Candle => ({ ts: D + n * TF, open: 0.0502, high: 0.0505, low: 0.0499, close: 0.0501, volume: 1000, ...over });

const match = (c: Candle, over: Partial<LimitOrderIntent> = {}, remaining = '10') =>
  matchLimitOrder({ intent: intent(over), rules: TOY, candle: c, remaining, volumeShare: 0.1, feeRate: TOY.maker });

const open = (over: Partial<LimitOrderIntent> = {}): OrderRecord => newOrderRecord(intent(over), '5m', 0);

const advance = (over: Partial<LimitAdvanceInput> & { candles: Candle[] }) =>
  advanceLimitOrder({ account: initialAccount({ BTC: '1' }), order: open(), rules: TOY, volumeShare: 0.1, feeRate: TOY.maker, now: 1, ...over });

function sum(values: string[]): string {
  return values.reduce((a, v) => a.plus(v), new Dec(0)).toFixed();
}

describe('matchLimitOrder', () => {
  it('fills a buy at its limit price when a later candle trades below it, with the maker fee', () => {
    // 10 × 0.05 = 0.5; maker 0.0005 → 0.00025 (taker would be 0.0005)
    expect(match(candle(1))).toEqual({
      fill: { clientOrderId: 'qb-TOYBTC-0123456789abcdef0123', symbol: 'TOY/BTC', side: 'buy', amount: '10', price: '0.05', fee: '0.00025', feeCurrency: 'BTC', ts: D + TF },
    });
  });

  it('fills a sell at its limit price when a later candle trades above it', () => {
    expect(match(candle(1), { side: 'sell', price: '0.0504' })).toMatchObject({ fill: { side: 'sell', price: '0.0504', amount: '10', fee: '0.000252' } });
  });

  it('does not fill on a touch: the price must trade through', () => {
    expect(match(candle(1, { low: 0.05 }))).toMatchObject({ rest: expect.stringMatching(/low 0.05 is not below 0.05/) });
    expect(match(candle(1, { high: 0.0504 }), { side: 'sell', price: '0.0504' })).toMatchObject({ rest: expect.stringMatching(/not above/) });
    // One tick through is enough.
    expect(match(candle(1, { low: 0.049999 }))).toHaveProperty('fill');
  });

  it('never fills on the decision candle or before it (no lookahead)', () => {
    expect(match(candle(0, { low: 0.01 }))).toMatchObject({ rest: expect.stringMatching(/not after the decision candle/) });
    expect(match(candle(-1, { low: 0.01 }))).toMatchObject({ rest: expect.stringMatching(/not after the decision candle/) });
  });

  it('fills at the open when the candle gaps through the price, which is better for the order', () => {
    expect(match(candle(1, { open: 0.0481, high: 0.0488, low: 0.048 }))).toMatchObject({ fill: { price: '0.0481' } });
    expect(match(candle(1, { open: 0.0522, high: 0.0525, low: 0.0519 }), { side: 'sell', price: '0.0504' })).toMatchObject({ fill: { price: '0.0522' } });
    // An open off the tick is rounded against the trader, never past the limit.
    expect(match(candle(1, { open: 0.04999991, low: 0.0499 }))).toMatchObject({ fill: { price: '0.05' } });
    expect(match(candle(1, { open: 0.04899991, low: 0.0489 }))).toMatchObject({ fill: { price: '0.049' } });
  });

  it('fills at most the volume share of the candle, rounded down to the amount step', () => {
    // 0.1 × 12.345 = 1.2345 → 1.23
    expect(match(candle(1, { volume: 12.345 }))).toMatchObject({ fill: { amount: '1.23' } });
    expect(match(candle(1, { volume: 0.05 }))).toMatchObject({ rest: expect.stringMatching(/less than one step/) });
    expect(match(candle(1, { volume: 0 }))).toHaveProperty('rest');
    expect(match(candle(1), {}, '0.37')).toMatchObject({ fill: { amount: '0.37' } });
  });

  it('expires on the first candle opening at or after decision + expiresAfterMs', () => {
    expect(match(candle(2), { expiresAfterMs: 3 * TF })).toHaveProperty('fill');
    expect(match(candle(3), { expiresAfterMs: 3 * TF })).toMatchObject({ expire: expect.stringMatching(/^expired/) });
    expect(match(candle(9), { expiresAfterMs: 3 * TF })).toHaveProperty('expire');
  });
});

describe('checkLimitOrder', () => {
  it('accepts a well-formed order and names what is wrong with the others', () => {
    expect(checkLimitOrder(intent(), TOY, TOY.maker)).toBeUndefined();
    expect(checkLimitOrder(intent({ price: '0.0500001' }), TOY, TOY.maker)).toMatch(/not on the 0.000001 tick/);
    expect(checkLimitOrder(intent({ price: '0' }), TOY, TOY.maker)).toMatch(/not a positive number/);
    expect(checkLimitOrder(intent({ price: 'NaN' }), TOY, TOY.maker)).toMatch(/not a positive number/);
    expect(checkLimitOrder(intent({ amount: '1.005' }), TOY, TOY.maker)).toMatch(/not a multiple of the step/);
    expect(checkLimitOrder(intent({ amount: '0.001' }), TOY, TOY.maker)).toMatch(/not a multiple/);
    expect(checkLimitOrder(intent({ amount: '0.01', price: '0.001' }), TOY, TOY.maker)).toMatch(/cost 0.00001 BTC is below the minimum 0.0001/);
    expect(checkLimitOrder(intent({ amount: '2000000' }), TOY, TOY.maker)).toMatch(/above the maximum/);
    expect(checkLimitOrder(intent({ expiresAfterMs: 0 }), TOY, TOY.maker)).toMatch(/expiresAfterMs/);
    expect(checkLimitOrder(intent({ expiresAfterMs: 1.5 }), TOY, TOY.maker)).toMatch(/expiresAfterMs/);
    expect(checkLimitOrder(intent({ symbol: 'ADA/BTC' }), TOY, TOY.maker)).toMatch(/rules are for TOY\/BTC/);
    expect(checkLimitOrder(intent(), TOY, '1')).toMatch(/fee rate/);
  });
});

describe('advanceLimitOrder', () => {
  const volumes = [12.345, 30.07, 50, 100];
  const series = volumes.map((volume, i) => candle(i + 1, { volume }));

  it('fills in parts by volume share across candles, adding up exactly to the order amount', () => {
    const s = advance({ candles: series })!;
    // 1.23 + 3 + 5 + the last 0.77 (the 10 of the fourth candle's share is more than remains)
    expect(s.fills!.map((f) => f.amount)).toEqual(['1.23', '3', '5', '0.77']);
    expect(sum(s.fills!.map((f) => f.amount))).toBe('10');
    expect(s.fills!.map((f) => f.ts)).toEqual(series.map((c) => c.ts));
    for (const [i, f] of s.fills!.entries()) expect(new Dec(f.amount).lte(new Dec(volumes[i]!).times(0.1))).toBe(true);
    expect(s.order).toMatchObject({ status: 'filled', filledAmount: '10', remaining: '0', fillCount: 4, filledCost: '0.5', avgPrice: '0.05', matchedThrough: series[3]!.ts });
    expect(s.order.fill).toEqual(s.fills![3]);
    // Maker fees, each rounded up on its own part: they can only add up to the fee on the whole or a little more.
    const fees = s.fills!.map((f) => f.fee);
    expect(fees).toEqual(['0.00003075', '0.000075', '0.000125', '0.00001925']);
    expect(s.account!.cash).toEqual({ BTC: new Dec(1).minus(0.5).minus(sum(fees)).toFixed() });
    expect(s.account!.positions['TOY/BTC']).toMatchObject({ amount: '10', fees: sum(fees) });
  });

  it('keeps a partly filled order open and resting, and matches each candle once', () => {
    const first = advance({ candles: series.slice(0, 2) })!;
    expect(first.order).toMatchObject({ status: 'open', filledAmount: '4.23', remaining: '5.77', fillCount: 2, matchedThrough: series[1]!.ts });
    // The same candles again (a re-delivery): nothing to do.
    expect(advance({ order: first.order, account: first.account!, candles: series.slice(0, 2) })).toBeUndefined();
    expect(advance({ order: first.order, account: first.account!, candles: [series[1]!] })).toBeUndefined();
    // With the next ones, it carries on from where it stopped and ends exactly as in one go.
    const rest = advance({ order: first.order, account: first.account!, candles: series })!;
    expect(rest.fills!.map((f) => f.amount)).toEqual(['5', '0.77']);
    expect(rest.account).toEqual(advance({ candles: series })!.account);
    expect(rest.order).toMatchObject({ status: 'filled', filledAmount: '10', fillCount: 4 });
  });

  it('ignores the decision candle and skips candles that do not trade through, remembering them as matched', () => {
    const s = advance({ candles: [candle(0, { low: 0.01 }), candle(1, { low: 0.05 }), candle(2, { low: 0.0501 })] })!;
    expect(s.fills).toBeUndefined();
    expect(s.account).toBeUndefined();
    expect(s.order).toMatchObject({ status: 'open', filledAmount: '0', remaining: '10', fillCount: 0, matchedThrough: D + 2 * TF });
  });

  it('cancels the remainder at expiry, keeping what filled', () => {
    const s = advance({ order: open({ expiresAfterMs: 3 * TF }), candles: [...series, candle(5)] })!;
    expect(s.fills!.map((f) => f.amount)).toEqual(['1.23', '3']);
    expect(s.order).toMatchObject({ status: 'cancelled', filledAmount: '4.23', remaining: '5.77', matchedThrough: D + 3 * TF, reason: expect.stringMatching(/^expired/) });
    expect(advance({ order: s.order, candles: [candle(6)] })).toBeUndefined(); // closed for good
  });

  it('expires an order that never filled', () => {
    const s = advance({ order: open({ expiresAfterMs: 2 * TF }), candles: [candle(1, { low: 0.06, high: 0.07 }), candle(2)] })!;
    expect(s.order).toMatchObject({ status: 'cancelled', filledAmount: '0', fillCount: 0, reason: expect.stringMatching(/^expired/) });
  });

  it('cancels the rest of a buy the cash cannot pay for, never overdrawing', () => {
    // 0.1 BTC pays for the first part (1.23 × 0.05 + fee) but not the second (3 × 0.05 = 0.15).
    const s = advance({ account: initialAccount({ BTC: '0.1' }), candles: series })!;
    expect(s.fills!.map((f) => f.amount)).toEqual(['1.23']);
    expect(s.order).toMatchObject({ status: 'cancelled', filledAmount: '1.23', remaining: '8.77', reason: expect.stringMatching(/needs 0.150075 BTC but only 0.03846925 is free/) });
    expect(s.account!.cash.BTC).toBe('0.03846925');
  });

  it('cancels the rest of a sell beyond what is held', () => {
    let account: AccountState = initialAccount({ BTC: '1' });
    account = { ...account, positions: { 'TOY/BTC': { symbol: 'TOY/BTC', amount: '2', avgPrice: '0.04', costBasis: '0.08', realizedPnl: '0', fees: '0' } } };
    const s = advance({ account, order: open({ side: 'sell', price: '0.0504' }), candles: series })!;
    expect(s.fills!.map((f) => f.amount)).toEqual(['1.23']);
    expect(s.order).toMatchObject({ status: 'cancelled', remaining: '8.77', reason: expect.stringMatching(/exceeds the 0.77 held/) });
    expect(s.account!.positions['TOY/BTC']!.amount).toBe('0.77');
  });

  it('cancels a remainder below the market minimum rather than leave it resting', () => {
    const rules = { ...TOY, limits: { ...TOY.limits, amount: { min: '1' } } };
    // 0.1 × 95 = 9.5 fills, 0.5 would remain: below the minimum amount 1.
    const s = advance({ rules, candles: [candle(1, { volume: 95 }), candle(2)] })!;
    expect(s.fills!.map((f) => f.amount)).toEqual(['9.5']);
    expect(s.order).toMatchObject({ status: 'cancelled', remaining: '0.5', reason: expect.stringMatching(/remainder too small to trade: amount 0.5 is below the minimum 1/) });
    // And by cost: 0.1 × 99.9 = 9.99 leaves 0.01 × 0.05 = 0.0005 BTC < 0.001.
    const byCost = advance({ rules: { ...TOY, limits: { ...TOY.limits, cost: { min: '0.001' } } }, candles: [candle(1, { volume: 99.9 })] })!;
    expect(byCost.order).toMatchObject({ status: 'cancelled', remaining: '0.01', reason: expect.stringMatching(/cost 0.0005 BTC is below the minimum 0.001/) });
  });

  it('rejects an order the market would refuse, and leaves non-limit or closed orders alone', () => {
    expect(advance({ order: open({ price: '0.0500001' }), candles: series })!.order).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/tick/) });
    expect(advance({ order: { ...open(), status: 'cancelled' }, candles: series })).toBeUndefined();
    expect(advance({ order: newOrderRecord({ ...intent(), type: 'market' } as never, '5m', 0), candles: series })).toBeUndefined();
  });

  it('never produces NaN, never overdraws and keeps filled + remaining = amount (random cases)', () => {
    let seed = 11;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const sixDp = (x: number) => Math.max(0.000001, Math.round(x * 1e6) / 1e6);
    let fills = 0;
    for (let i = 0; i < 400; i++) {
      const side = rand() < 0.5 ? 'buy' : 'sell';
      const price = sixDp(0.04 + rand() * 0.02);
      const candles = Array.from({ length: 1 + Math.floor(rand() * 8) }, (_, k) => {
        const o = sixDp(0.04 + rand() * 0.02);
        const c = sixDp(o * (1 + (rand() - 0.5) * 0.05));
        return candle(k + Math.floor(rand() * 2), { open: o, close: c, high: sixDp(Math.max(o, c) * (1 + rand() * 0.02)), low: sixDp(Math.min(o, c) * (1 - rand() * 0.02)), volume: rand() * 200 });
      });
      const account: AccountState = {
        ...initialAccount({ BTC: String(rand().toFixed(4)) }),
        positions: { 'TOY/BTC': { symbol: 'TOY/BTC', amount: (rand() * 20).toFixed(2), avgPrice: '0.05', costBasis: '0.5', realizedPnl: '0', fees: '0' } },
      };
      const order = open({ side, price: String(price), amount: (0.01 + Math.floor(rand() * 2000) / 100).toFixed(2), expiresAfterMs: rand() < 0.5 ? undefined : TF * (1 + Math.floor(rand() * 6)) });
      const s = advanceLimitOrder({ account, order, rules: TOY, candles, volumeShare: 0.1, feeRate: TOY.maker, now: 1 });
      if (!s) continue;
      const o = s.order;
      expect(new Dec(o.filledAmount).plus(o.remaining).eq(order.intent.amount)).toBe(true);
      expect(o.fillCount).toBe(s.fills?.length ?? 0);
      for (const f of s.fills ?? []) {
        fills++;
        const c = candles.find((x) => x.ts === f.ts)!;
        expect(f.ts).toBeGreaterThan(D);
        if (side === 'buy') expect(c.low < price && new Dec(f.price).lte(price)).toBe(true);
        else expect(c.high > price && new Dec(f.price).gte(price)).toBe(true);
        expect(f.fee).toBe(feeFor(new Dec(f.amount).times(f.price), TOY.maker).toFixed());
      }
      for (const v of [o.filledAmount, o.remaining, o.filledCost, o.avgPrice, ...Object.values(s.account?.cash ?? {})]) {
        expect(v).toMatch(/^\d+(\.\d+)?$/);
      }
    }
    expect(fills).toBeGreaterThan(100);
  });
});

describe('limit orders on real candles (data/ohlcv/ADA_BTC-5m.csv)', () => {
  const rules = loadMarketRules(JSON.parse(readFileSync(new URL('../../../data/markets.json', import.meta.url), 'utf8')))['ADA/BTC']!;
  const candles: Candle[] = readFileSync(new URL('../../../data/ohlcv/ADA_BTC-5m.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [ts, o, h, l, c, v] = line.split(',').map(Number) as [number, number, number, number, number, number];
      return { ts, open: o, high: h, low: l, close: c, volume: v };
    });
  const SHARE = 0.1;
  const ada = (over: Partial<LimitOrderIntent>): OrderRecord =>
    newOrderRecord({ clientOrderId: 'qb-ADABTC-real', symbol: 'ADA/BTC', side: 'buy', type: 'limit', amount: '1000', price: '0.00005', decisionTs: candles[0]!.ts, reason: 'real', ...over }, '5m', 0);
  const run = (order: OrderRecord, from: number, to: number, account = initialAccount({ BTC: '100' })) =>
    advanceLimitOrder({ account, order, rules, candles: candles.slice(from, to), volumeShare: SHARE, feeRate: rules.maker, now: 1 });

  it('does not fill on a candle whose low only touches a buy price, and fills one tick higher', () => {
    const c = candles[1]!; // low 0.00005269
    const at = (price: string) => run(ada({ price }), 1, 2)!;
    expect(at(String(c.low)).fills).toBeUndefined();
    expect(at(roundPrice(c.low, rules.precision.price, 'nearest').plus(rules.precision.price).toFixed()).fills).toHaveLength(1);
    const sell = (price: string) => run(ada({ side: 'sell', price }), 1, 2, { ...initialAccount({ BTC: '1' }), positions: { 'ADA/BTC': { symbol: 'ADA/BTC', amount: '1000', avgPrice: '0', costBasis: '0', realizedPnl: '0', fees: '0' } } })!;
    expect(sell(String(c.high)).fills).toBeUndefined();
    expect(sell(new Dec(c.high).minus(rules.precision.price).toFixed()).fills).toHaveLength(1);
  });

  it('matches a plain reading of the candles for buys and sells placed all along the series', () => {
    let orders = 0;
    let filledOrders = 0;
    let partial = 0;
    let gaps = 0;
    let expired = 0;
    for (let i = 0; i + 40 < candles.length; i += 37) {
      const decision = candles[i]!;
      for (const side of ['buy', 'sell'] as const) {
        orders++;
        const price = roundPrice(decision.close * (side === 'buy' ? 0.996 : 1.004), rules.precision.price, side === 'buy' ? 'down' : 'up');
        const amount = 150_000;
        const order = ada({ clientOrderId: `q-real-${i}-${side}`, side, price: price.toFixed(), amount: String(amount), decisionTs: decision.ts, expiresAfterMs: 25 * TF });
        const account = side === 'buy' ? initialAccount({ BTC: '100' }) : { ...initialAccount({ BTC: '0' }), positions: { 'ADA/BTC': { symbol: 'ADA/BTC', amount: String(amount), avgPrice: '0', costBasis: '0', realizedPnl: '0', fees: '0' } } };
        // The decision candle is included on purpose: it must be skipped.
        const s = run(order, i, i + 40, account)!;

        // The same thing read straight off the candles with plain numbers (prices here are on the 1e-8 tick).
        const expected: Pick<Fill, 'ts' | 'amount' | 'price'>[] = [];
        let remaining = amount;
        let cancelled = false;
        for (const c of candles.slice(i + 1, i + 40)) {
          if (c.ts >= decision.ts + 25 * TF) {
            cancelled = true;
            break;
          }
          const p = Number(price);
          const through = side === 'buy' ? c.low < p : c.high > p;
          if (!through) continue;
          const gap = side === 'buy' ? c.open < p : c.open > p;
          const part = Math.min(remaining, Math.floor(c.volume * SHARE));
          if (part === 0) continue;
          expected.push({ ts: c.ts, amount: String(part), price: new Dec(gap ? c.open : p).toFixed() });
          remaining -= part;
          if (remaining === 0) break;
          if (remaining < 1 || remaining * p < 0.001) {
            cancelled = true; // too small a remainder to trade
            break;
          }
        }
        expect((s.fills ?? []).map(({ ts, amount: a, price: p }) => ({ ts, amount: a, price: p })), `${side} at ${price.toFixed()} after ${decision.ts}`).toEqual(expected);
        expect(s.order.status).toBe(remaining === 0 ? 'filled' : cancelled ? 'cancelled' : 'open');
        expect(s.order.filledAmount).toBe(String(amount - remaining));
        for (const f of s.fills ?? []) expect(f.fee).toBe(feeFor(new Dec(f.amount).times(f.price), rules.maker).toFixed());
        if (remaining === 0) filledOrders++;
        if (expected.length > 1) partial++;
        if (expected.some((f) => f.price !== price.toFixed())) gaps++;
        if (cancelled && remaining > 0) expired++;
      }
    }
    // The real data exercised every path.
    expect(orders).toBeGreaterThan(250);
    expect({ filledOrders: filledOrders > 10, partial: partial > 10, gaps: gaps > 0, expired: expired > 10 }).toEqual({ filledOrders: true, partial: true, gaps: true, expired: true });
  });
});
