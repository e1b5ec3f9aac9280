import { describe, expect, it } from 'vitest';
import { windowFromCandles } from '../src/core/candle.ts';
import { SignalSchema } from '../src/core/signal.ts';
import mm from './market-maker.ts';
import { WINDOW, analyze, flat, fromCloses, readCandles, slice } from './_testkit.ts';

/** 60 closes swinging 1 ± amp around 1 (σ of returns ≈ 2 × amp), then `last`. */
const swingThen = (last: number, amp = 0.005) => fromCloses([...Array.from({ length: 60 }, (_, i) => 1 + (i % 2 === 0 ? amp : -amp)), last]);

describe('market-maker', () => {
  it('refuses target >= maxInventory with a clear message on target', () => {
    const result = mm.params.safeParse({ target: 0.2, maxInventory: 0.2 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['target'], message: 'target must be less than maxInventory' }]);
    expect(mm.params.safeParse({ target: 0.1, maxInventory: 0.2 }).success).toBe(true);
  });

  it('on target, bids below a close under the fair price and offers above a close over it', () => {
    const buy = analyze(mm, swingThen(0.99), {}, 'ETH/BTC', { inventory: 0.05 });
    expect(buy.action).toBe('buy');
    expect(buy.limitPrice!).toBeLessThan(0.99);
    const sell = analyze(mm, swingThen(1.01), {}, 'ETH/BTC', { inventory: 0.05 });
    expect(sell.action).toBe('sell');
    expect(sell.limitPrice!).toBeGreaterThan(1.01);
  });

  it('skews with inventory: the more it holds, the lower its reservation price, never flipping back', () => {
    // A close just above the fair price: flat inventory still bids, a full one offers.
    const w = swingThen(1.003);
    const actions = [0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.3, 1].map((inventory) => analyze(mm, w, {}, 'ETH/BTC', { inventory }).action);
    expect(actions[0]).toBe('buy');
    expect(actions.at(-1)).toBe('sell');
    const flips = actions.slice(1).filter((a, i) => a !== actions[i]).length;
    expect(flips).toBe(1);
    // Without skew the inventory changes nothing.
    const noSkew = [0, 0.1, 1].map((inventory) => analyze(mm, w, { skew: 0 }, 'ETH/BTC', { inventory }).action);
    expect(new Set(noSkew).size).toBe(1);
  });

  it('quotes wider when the market is more volatile', () => {
    const calm = analyze(mm, swingThen(0.999, 0.002), { spread: 3 }, 'ETH/BTC', { inventory: 0.05 });
    const wild = analyze(mm, swingThen(0.999, 0.008), { spread: 3 }, 'ETH/BTC', { inventory: 0.05 });
    expect(calm.action).toBe('buy');
    expect(wild.action).toBe('buy');
    expect(0.999 - wild.limitPrice!).toBeGreaterThan(2 * (0.999 - calm.limitPrice!));
  });

  it('keeps minEdge between its quote and the close, and is surer the farther the close is from its reservation', () => {
    const near = analyze(mm, swingThen(0.998), { minEdge: 0.01 }, 'ETH/BTC', { inventory: 0.05 });
    expect(near.action).toBe('buy');
    expect(near.limitPrice!).toBeLessThanOrEqual(0.998 * 0.99);
    const far = analyze(mm, swingThen(0.98), { minEdge: 0.01 }, 'ETH/BTC', { inventory: 0.05 });
    expect(far.confidence).toBeGreaterThan(near.confidence);
  });

  it('holds when volatility is zero or inventory unknown, and on short or flat windows', () => {
    const still = fromCloses(Array.from({ length: 80 }, () => 1));
    expect(analyze(mm, still)).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(mm, flat(WINDOW))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(mm, fromCloses([1, 1.01, 0.99, 1]))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(mm, swingThen(0.99), {}, 'ETH/BTC', { inventory: Number.NaN })).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('over real markets and inventories: one valid limit order a candle, on the resting side of the close', () => {
    for (const file of ['ETH_BTC-5m.csv', 'ZEC_BTC-5m.csv']) {
      const all = windowFromCandles(readCandles(file));
      for (let end = WINDOW; end <= all.length; end += 41) {
        const w = slice(all, end - WINDOW, end);
        const close = w.close[w.length - 1]!;
        for (const inventory of [0, 0.05, 0.12, 1]) {
          const s = analyze(mm, w, {}, 'ETH/BTC', { inventory });
          expect(SignalSchema.parse(s)).toEqual(s);
          if (s.action === 'hold') continue;
          expect(s.confidence).toBeGreaterThan(0);
          if (s.action === 'buy') expect(s.limitPrice!).toBeLessThan(close);
          else expect(s.limitPrice!).toBeGreaterThan(close);
        }
      }
    }
  });
});
