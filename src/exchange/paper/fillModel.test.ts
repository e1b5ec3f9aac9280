import { describe, expect, it } from 'vitest';
import type { Candle } from '../../core/candle.ts';
import type { MarketRules } from '../../core/market.ts';
import type { MarketOrderIntent } from '../../core/order.ts';
import { Dec, isMultipleOf } from '../../core/precision.ts';
import { fillMarketOrder, type FillInput } from './fillModel.ts';

const ADA: MarketRules = {
  symbol: 'ADA/BTC',
  base: 'ADA',
  quote: 'BTC',
  precision: { amount: '1', price: '0.00000001' },
  limits: { amount: { min: '1', max: '90000000' }, cost: { min: '0.001' } },
  taker: '0.001',
  maker: '0.001',
};
const ETH: MarketRules = {
  ...ADA,
  symbol: 'ETH/BTC',
  base: 'ETH',
  precision: { amount: '0.001', price: '0.000001' },
  limits: { amount: { min: '0.001' }, cost: { min: '0.001' } },
};

const DECISION_TS = 1515560100000;
// Real ADA/BTC 5m candle that follows the first one in data/ohlcv/ADA_BTC-5m.csv.
const NEXT: Candle = { ts: DECISION_TS + 300_000, open: 0.0000529, high: 0.0000533, low: 0.00005268, close: 0.00005268, volume: 1000 };

const intent = (over: Partial<MarketOrderIntent> = {}): MarketOrderIntent => ({
  clientOrderId: 'qb-ADABTC-0123456789abcdef0123',
  symbol: 'ADA/BTC',
  side: 'buy',
  type: 'market',
  amount: '200',
  decisionTs: DECISION_TS,
  reason: 'test',
  ...over,
});
const fill = (over: Partial<FillInput> = {}) => fillMarketOrder({ intent: intent(), rules: ADA, nextCandle: NEXT, slippageBps: 10, ...over });

describe('fillMarketOrder', () => {
  it('fills a buy at the next open plus slippage, rounded up to the tick, with an exact fee', () => {
    // 0.0000529 × 1.001 = 0.0000529529 → 0.00005296; 200 × 0.00005296 = 0.010592; fee 0.000010592 → 0.0000106 (rounded up)
    expect(fill()).toEqual({
      fill: {
        clientOrderId: 'qb-ADABTC-0123456789abcdef0123',
        symbol: 'ADA/BTC',
        side: 'buy',
        amount: '200',
        price: '0.00005296',
        fee: '0.0000106',
        feeCurrency: 'BTC',
        ts: NEXT.ts,
      },
    });
  });

  it('fills a sell at the next open minus slippage, rounded down to the tick', () => {
    // 0.0000529 × 0.999 = 0.0000528471 → 0.00005284; 200 × 0.00005284 = 0.010568; fee 0.000010568 → 0.00001057
    const r = fill({ intent: intent({ side: 'sell' }) });
    expect(r).toMatchObject({ fill: { side: 'sell', price: '0.00005284', fee: '0.00001057' } });
  });

  it('fills exactly at the open without slippage', () => {
    expect(fill({ slippageBps: 0 })).toMatchObject({ fill: { price: '0.0000529', fee: '0.00001058' } });
  });

  it('uses a fee rate override', () => {
    expect(fill({ feeRate: '0' })).toMatchObject({ fill: { fee: '0' } });
    // 0.010592 × 0.00075 = 0.000007944 → 0.00000795
    expect(fill({ feeRate: '0.00075' })).toMatchObject({ fill: { fee: '0.00000795' } });
  });

  it('never fills outside the candle range, however large the slippage', () => {
    expect(fill({ slippageBps: 200 })).toMatchObject({ fill: { price: '0.0000533' } });
    expect(fill({ slippageBps: 200, intent: intent({ side: 'sell' }) })).toMatchObject({ fill: { price: '0.00005268' } });
  });

  it('takes the last tick inside the range when rounding against the trader would cross its edge', () => {
    const candle: Candle = { ts: NEXT.ts, open: 0.0984, high: 0.0984005, low: 0.0983, close: 0.0984, volume: 1 };
    const r = fillMarketOrder({ intent: intent({ symbol: 'ETH/BTC', amount: '1' }), rules: ETH, nextCandle: candle, slippageBps: 10 });
    expect(r).toMatchObject({ fill: { price: '0.0984' } });
  });

  it('rejects when no tick lies inside the candle range', () => {
    const candle: Candle = { ts: NEXT.ts, open: 0.07439998, high: 0.07439999, low: 0.07439997, close: 0.07439998, volume: 1 };
    const r = fillMarketOrder({ intent: intent({ symbol: 'ETH/BTC', amount: '1' }), rules: ETH, nextCandle: candle, slippageBps: 10 });
    expect(r).toMatchObject({ reject: expect.stringMatching(/no price on the 0.000001 tick grid/) });
  });

  it('rejects a fill from the decision candle or before it (lookahead)', () => {
    expect(fill({ nextCandle: { ...NEXT, ts: DECISION_TS } })).toMatchObject({ reject: expect.stringMatching(/^lookahead/) });
    expect(fill({ nextCandle: { ...NEXT, ts: DECISION_TS - 300_000 } })).toMatchObject({ reject: expect.stringMatching(/^lookahead/) });
  });

  it('rejects amounts the exchange would refuse', () => {
    expect(fill({ intent: intent({ amount: '200.5' }) })).toMatchObject({ reject: expect.stringMatching(/not a multiple of the step 1/) });
    expect(fill({ intent: intent({ amount: '0' }) })).toMatchObject({ reject: expect.stringMatching(/not a positive number/) });
    expect(fill({ intent: intent({ amount: 'NaN' }) })).toMatchObject({ reject: expect.stringMatching(/not a positive number/) });
    const min = { ...ADA, limits: { ...ADA.limits, amount: { min: '500' } } };
    expect(fill({ rules: min })).toMatchObject({ reject: expect.stringMatching(/below the minimum 500/) });
    expect(fill({ intent: intent({ amount: '10' }) })).toMatchObject({ reject: expect.stringMatching(/cost 0.0005296 BTC is below the minimum 0.001/) });
  });

  it('rejects a mismatched market, a malformed candle or bad parameters', () => {
    expect(fill({ intent: intent({ symbol: 'ETH/BTC' }) })).toHaveProperty('reject');
    expect(fill({ nextCandle: { ...NEXT, open: Number.NaN } })).toHaveProperty('reject');
    expect(fill({ nextCandle: { ...NEXT, open: 0.1 } })).toHaveProperty('reject'); // open above high
    expect(fill({ slippageBps: -1 })).toHaveProperty('reject');
    expect(fill({ slippageBps: Infinity })).toHaveProperty('reject');
    expect(fill({ feeRate: 'abc' })).toHaveProperty('reject');
  });

  it('never leaves the candle, always moves against the trader and charges the exact fee rounded up (random cases)', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const eightDp = (x: number) => Math.max(1, Math.round(x * 1e8)) / 1e8;
    for (let i = 0; i < 3000; i++) {
      const open = eightDp(rand() * 0.1);
      const high = eightDp(open * (1 + rand() * 0.03));
      const low = eightDp(open * (1 - rand() * 0.03));
      const candle: Candle = { ts: NEXT.ts, open, high: Math.max(open, high), low: Math.min(open, low), close: open, volume: 1 };
      const side = rand() < 0.5 ? 'buy' : 'sell';
      const amount = String(1 + Math.floor(rand() * 100000));
      const slippageBps = Math.floor(rand() * 300);
      const r = fillMarketOrder({ intent: intent({ side, amount }), rules: ADA, nextCandle: candle, slippageBps });
      if ('reject' in r) {
        expect(r.reject).toMatch(/below the minimum/);
        continue;
      }
      const price = new Dec(r.fill.price);
      expect(price.gte(candle.low) && price.lte(candle.high)).toBe(true);
      expect(isMultipleOf(price, ADA.precision.price)).toBe(true);
      if (side === 'buy') expect(price.gte(candle.open)).toBe(true);
      else expect(price.lte(candle.open)).toBe(true);
      const exact = new Dec(amount).times(price).times(ADA.taker);
      const fee = new Dec(r.fill.fee);
      expect(fee.gte(exact) && fee.minus(exact).lt('0.00000001')).toBe(true);
      expect(isMultipleOf(fee, '0.00000001')).toBe(true);
    }
  });
});
