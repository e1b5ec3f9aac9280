import { describe, expect, it } from 'vitest';
import { windowFromCandles } from '../src/core/candle.ts';
import { SignalSchema } from '../src/core/signal.ts';
import grid from './grid.ts';
import { WINDOW, analyze, flat, fromCloses, readCandles, slice } from './_testkit.ts';

/** Five closes whose SMA is 1 (period 5), the last one being `last`. */
const around1 = (last: number) => fromCloses([1.02, 0.98, 2.01 - last, 0.99, last]);
const P = { period: 5, spacing: 0.005, levels: 10, target: 0.05, band: 0.01 };

describe('grid', () => {
  it('refuses a grid that would reach zero, with a clear message on levels', () => {
    const result = grid.params.safeParse({ levels: 20, spacing: 0.05 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['levels'], message: 'levels × spacing must be below 1 so that the lowest level stays above zero' }]);
    expect(grid.params.safeParse({ levels: 19, spacing: 0.05 }).success).toBe(true);
  });

  it('under target, bids at the nearest level strictly below the close', () => {
    // SMA 1, close 0.993: 1.4 steps below, so the level below is -2 at 0.99.
    const s = analyze(grid, around1(0.993), P, 'ETH/BTC', { inventory: 0 });
    expect(s).toMatchObject({ action: 'buy' });
    expect(s.limitPrice).toBeCloseTo(0.99, 10);
    expect(s.confidence).toBeCloseTo(0.1 + (0.9 * 12) / 20, 10);
    // A close on a level rests one level lower: a bid at the close would fill at once.
    const onLevel = analyze(grid, around1(0.99), P, 'ETH/BTC', { inventory: 0 });
    expect(onLevel.limitPrice).toBeCloseTo(0.985, 10);
  });

  it('over target, offers at the nearest level strictly above the close', () => {
    const s = analyze(grid, around1(0.993), P, 'ETH/BTC', { inventory: 0.2 });
    expect(s).toMatchObject({ action: 'sell' });
    expect(s.limitPrice).toBeCloseTo(0.995, 10);
    // Selling below the reference is the less attractive side: under the 0.55 of the reference level.
    expect(s.confidence).toBeCloseTo(0.1 + (0.9 * 9) / 20, 10);
  });

  it('on target, trades back toward the reference; on the reference itself it holds', () => {
    expect(analyze(grid, around1(0.993), P, 'ETH/BTC', { inventory: 0.05 })).toMatchObject({ action: 'buy' });
    expect(analyze(grid, around1(1.007), P, 'ETH/BTC', { inventory: 0.055 })).toMatchObject({ action: 'sell' });
    expect(analyze(grid, fromCloses([1.01, 0.99, 1.01, 0.99, 1]), P, 'ETH/BTC', { inventory: 0.05 })).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('is surer the farther below the reference it buys', () => {
    const near = analyze(grid, around1(0.998), P, 'ETH/BTC', { inventory: 0 });
    const far = analyze(grid, around1(0.97), P, 'ETH/BTC', { inventory: 0 });
    expect(near.action).toBe('buy');
    expect(far.action).toBe('buy');
    expect(far.confidence).toBeGreaterThan(near.confidence);
  });

  it('holds off the grid, on a market that did not move, on short windows and unknown inventory', () => {
    // 9% below the SMA, with 10 levels of 0.5% (20 reach it).
    const off = fromCloses([1.08, 1.08, 1.08, 1.08, 0.96]);
    expect(analyze(grid, off, P)).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(grid, off, { ...P, levels: 20 })).toMatchObject({ action: 'buy' });
    expect(analyze(grid, flat(60))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(grid, fromCloses(Array.from({ length: 60 }, () => 1)))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(grid, fromCloses([1, 1.01, 0.99]), P)).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(grid, around1(0.99), P, 'ETH/BTC', { inventory: Number.NaN })).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('rests every order on the right side of the close at a positive level, over real markets and inventories', () => {
    for (const file of ['XMR_BTC-5m.csv', 'TRX_BTC-5m.csv']) {
      const all = windowFromCandles(readCandles(file));
      for (let end = WINDOW; end <= all.length; end += 37) {
        const w = slice(all, end - WINDOW, end);
        const close = w.close[w.length - 1]!;
        for (const inventory of [0, 0.05, 0.3, 1]) {
          const s = analyze(grid, w, {}, 'XMR/BTC', { inventory });
          expect(SignalSchema.parse(s)).toEqual(s);
          if (s.action === 'hold') continue;
          expect(Number.isFinite(s.limitPrice) && s.limitPrice! > 0).toBe(true);
          if (s.action === 'buy') expect(s.limitPrice!).toBeLessThan(close);
          else expect(s.limitPrice!).toBeGreaterThan(close);
          expect(s.action).toBe(inventory < 0.04 ? 'buy' : inventory > 0.06 ? 'sell' : s.action);
        }
      }
    }
  });
});
