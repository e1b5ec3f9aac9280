import { describe, expect, it } from 'vitest';
import mfi from './money-flow.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** 30 closes swinging 1 / 1.01: rises on `up` volume, falls on `down` volume. */
const swing = (up: number, down: number) =>
  fromCloses(Array.from({ length: 30 }, (_, i) => 1 + (i % 2) * 0.01), Array.from({ length: 30 }, (_, i) => (i % 2 === 1 ? up : down)));

describe('money-flow', () => {
  it('refuses oversold >= overbought with a clear message on oversold', () => {
    const result = mfi.params.safeParse({ oversold: 80, overbought: 20 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['oversold'], message: 'oversold must be less than overbought' }]);
    expect(mfi.params.safeParse({ overbought: 100 }).success).toBe(false);
  });

  it('buys when the money flows out on the falls and sells when it flows in on the rises, the prices being the same', () => {
    expect(analyze(mfi, swing(1, 9))).toMatchObject({ action: 'buy' });
    expect(analyze(mfi, swing(9, 1))).toMatchObject({ action: 'sell' });
    expect(analyze(mfi, swing(1, 1))).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('is surer the more one-sided the flow', () => {
    const shallow = analyze(mfi, swing(1, 5));
    const deep = analyze(mfi, swing(1, 20));
    expect(shallow.action).toBe('buy');
    expect(deep.confidence).toBeGreaterThan(shallow.confidence);
  });

  it('holds when nothing traded, even though prices fell', () => {
    const fall = Array.from({ length: 20 }, (_, i) => 1 - 0.01 * i);
    expect(analyze(mfi, fromCloses(fall))).toMatchObject({ action: 'buy' });
    expect(analyze(mfi, fromCloses(fall, fall.map(() => 0)))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(mfi, flat(30))).toMatchObject({ action: 'hold', confidence: 0 });
  });
});
