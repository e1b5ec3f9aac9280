import { describe, expect, it } from 'vitest';
import vwap from './vwap-deviation.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** 47 closes swinging 1 / 1.01 on volume 1, then `last`. */
const swingThen = (last: number) => fromCloses([...Array.from({ length: 47 }, (_, i) => 1 + (i % 2) * 0.01), last]);

/** 24 candles near 1.00 on `early` volume, 23 near 1.02 on `late` volume, then `last` on volume 1. */
const stepThen = (last: number, early: number, late: number) =>
  fromCloses(
    [...Array.from({ length: 47 }, (_, i) => (i < 24 ? 1 : 1.02) + (i % 2) * 0.001), last],
    [...Array.from({ length: 47 }, (_, i) => (i < 24 ? early : late)), 1],
  );

describe('vwap-deviation', () => {
  it('buys a close well below the rolling VWAP, sells one well above, holds near it', () => {
    expect(analyze(vwap, swingThen(0.98))).toMatchObject({ action: 'buy' });
    expect(analyze(vwap, swingThen(1.03))).toMatchObject({ action: 'sell' });
    expect(analyze(vwap, swingThen(1.005))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(vwap, swingThen(0.99)).confidence).toBeLessThan(1);
    expect(analyze(vwap, swingThen(0.98)).confidence).toBeGreaterThan(analyze(vwap, swingThen(0.99)).confidence);
  });

  it('weights by volume: the same close is well below VWAP only when most volume traded higher', () => {
    expect(analyze(vwap, stepThen(1.0, 1, 9))).toMatchObject({ action: 'buy' });
    expect(analyze(vwap, stepThen(1.0, 9, 1))).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('ignores deviations under minDeviation however many sd they are', () => {
    const quiet = fromCloses([...Array.from({ length: 47 }, (_, i) => 1 + (i % 2) * 0.0001), 0.999]);
    expect(analyze(vwap, quiet)).toMatchObject({ action: 'hold' });
    expect(analyze(vwap, quiet, { minDeviation: 0 })).toMatchObject({ action: 'buy' });
  });

  it('holds when nothing traded and refuses out-of-bounds params', () => {
    expect(analyze(vwap, flat(60))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(vwap, fromCloses(Array.from({ length: 48 }, (_, i) => 1 + i * 0.01), Array.from({ length: 48 }, () => 0)))).toMatchObject({
      action: 'hold',
      confidence: 0,
    });
    expect(vwap.params.safeParse({ bands: 0 }).success).toBe(false);
    expect(vwap.params.safeParse({ minDeviation: -0.1 }).success).toBe(false);
  });
});
