import { describe, expect, it } from 'vitest';
import type { MarketRules } from './market.ts';
import { Dec, feeFor, isMultipleOf, roundPrice } from './precision.ts';
import { orderForTarget, type SizingInput } from './sizing.ts';

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
  limits: { amount: { min: '0.001', max: '100000' }, cost: { min: '0.001' } },
};

const input = (over: Partial<SizingInput> = {}): SizingInput => ({
  rules: ADA,
  currentAmount: '0',
  targetValue: '0.01',
  price: '0.00005',
  cash: '1',
  slippageBps: 10,
  ...over,
});

describe('orderForTarget', () => {
  it('buys the difference between target and holding', () => {
    expect(orderForTarget(input())).toEqual({ side: 'buy', amount: '200' });
    expect(orderForTarget(input({ currentAmount: '150' }))).toEqual({ side: 'buy', amount: '50' });
    expect(orderForTarget(input({ rules: ETH, price: 0.09, targetValue: '0.5' }))).toEqual({ side: 'buy', amount: '5.555' });
  });

  it('buys no more than cash allows with slippage and the taker fee', () => {
    // Worst price 0.00005 × 1.001 = 0.00005005; 99 ADA cost 0.00495495 + fee 0.00000496 = 0.00495991 ≤ 0.005, 100 would not fit.
    expect(orderForTarget(input({ cash: '0.005' }))).toEqual({ side: 'buy', amount: '99' });
  });

  it('sells down to the target and never more than is held', () => {
    expect(orderForTarget(input({ currentAmount: '300' }))).toEqual({ side: 'sell', amount: '100' });
    expect(orderForTarget(input({ currentAmount: '123.7', targetValue: '0' }))).toEqual({ side: 'sell', amount: '123' });
    expect(orderForTarget(input({ currentAmount: '50', targetValue: '0' }))).toEqual({ side: 'sell', amount: '50' });
  });

  it('rounds down so it never overshoots the target', () => {
    expect(orderForTarget(input({ targetValue: '0.0100499' }))).toEqual({ side: 'buy', amount: '200' }); // 200.998 ADA wanted
  });

  it('skips when already at target or the delta is below one step', () => {
    expect(orderForTarget(input({ currentAmount: '200' }))).toEqual({ skip: 'already at target' });
    expect(orderForTarget(input({ currentAmount: '200', targetValue: '0.01000004' }))).toMatchObject({ skip: expect.stringMatching(/less than one amount step/) });
    expect(orderForTarget(input({ currentAmount: '200.5' }))).toMatchObject({ skip: expect.stringMatching(/less than one amount step/) });
  });

  it('skips below the minimum cost or amount', () => {
    expect(orderForTarget(input({ targetValue: '0.0005' }))).toMatchObject({ skip: expect.stringMatching(/below the market minimum cost 0.001/) });
    const bigMin = { ...ADA, limits: { ...ADA.limits, amount: { min: '500' } } };
    expect(orderForTarget(input({ rules: bigMin }))).toMatchObject({ skip: expect.stringMatching(/below the market minimum amount 500/) });
    // Selling the last dust of a position is below the minimum cost too.
    expect(orderForTarget(input({ currentAmount: '3', targetValue: '0' }))).toMatchObject({ skip: expect.stringMatching(/minimum cost/) });
  });

  it('skips when cash cannot buy one step', () => {
    expect(orderForTarget(input({ cash: '0' }))).toMatchObject({ skip: expect.stringMatching(/buys less than one step/) });
    expect(orderForTarget(input({ cash: '0.00005' }))).toMatchObject({ skip: expect.stringMatching(/buys less than one step/) });
  });

  it.each([0, -1, Number.NaN, Infinity, -Infinity, 'abc', '', '0x10'])('skips with a reason on the price %s', (price) => {
    const r = orderForTarget(input({ price }));
    expect(r).toMatchObject({ skip: expect.stringMatching(/reference price/) });
  });

  it('skips on nonsense inputs instead of producing NaN', () => {
    expect(orderForTarget(input({ cash: 'NaN' }))).toHaveProperty('skip');
    expect(orderForTarget(input({ cash: '-1' }))).toHaveProperty('skip');
    expect(orderForTarget(input({ targetValue: '-0.01' }))).toHaveProperty('skip');
    expect(orderForTarget(input({ currentAmount: 'Infinity' }))).toHaveProperty('skip');
    expect(orderForTarget(input({ slippageBps: Number.NaN }))).toHaveProperty('skip');
    expect(orderForTarget(input({ feeRate: '-0.1' }))).toHaveProperty('skip');
    expect(orderForTarget(input({ rules: { ...ADA, precision: { amount: '0', price: '0.00000001' } } }))).toHaveProperty('skip');
  });

  it('caps a buy at the market maximum amount', () => {
    const capped = { ...ADA, limits: { ...ADA.limits, amount: { min: '1', max: '150' } } };
    expect(orderForTarget(input({ rules: capped }))).toEqual({ side: 'buy', amount: '150' });
  });

  it('keeps its invariants over thousands of random inputs', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const markets = [ADA, ETH, { ...ADA, precision: { amount: '0.01', price: '0.00000001' }, taker: '0.0075' }];
    let orders = 0;
    for (let i = 0; i < 4000; i++) {
      const rules = markets[i % markets.length]!;
      const price = new Dec(rand() * 0.2 + 1e-7).toDecimalPlaces(8).plus('0.00000001');
      const current = new Dec(rand() < 0.3 ? 0 : rand() * 1000).toDecimalPlaces(3);
      const cash = new Dec(rand() < 0.1 ? 0 : rand() * 2).toDecimalPlaces(8);
      const target = new Dec(rand() < 0.2 ? 0 : rand() * 3).toDecimalPlaces(8);
      const slippageBps = Math.floor(rand() * 100);
      const r = orderForTarget({ rules, currentAmount: current.toFixed(), targetValue: target.toFixed(), price: price.toFixed(), cash: cash.toFixed(), slippageBps });
      if ('skip' in r) {
        expect(r.skip.length).toBeGreaterThan(0);
        continue;
      }
      orders++;
      expect(r.amount).toMatch(/^\d+(\.\d+)?$/);
      const amount = new Dec(r.amount);
      expect(amount.gt(0)).toBe(true);
      expect(isMultipleOf(amount, rules.precision.amount)).toBe(true);
      expect(amount.gte(rules.limits.amount.min)).toBe(true);
      const delta = target.div(price).minus(current);
      if (r.side === 'buy') {
        expect(amount.lte(delta)).toBe(true);
        const worst = roundPrice(price.times(1 + slippageBps / 10_000), rules.precision.price, 'up');
        const total = amount.times(worst).plus(feeFor(amount.times(worst), rules.taker));
        expect(total.lte(cash)).toBe(true);
      } else {
        expect(amount.lte(current)).toBe(true);
        expect(amount.lte(delta.negated())).toBe(true);
      }
    }
    expect(orders).toBeGreaterThan(500);
  });
});
