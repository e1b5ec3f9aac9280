import { describe, expect, it } from 'vitest';
import obv from './obv-trend.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** 40 closes swinging 1 / 1.01: rises on `up` volume, falls on `down` volume. */
const swing = (up: number, down: number) =>
  fromCloses(Array.from({ length: 40 }, (_, i) => 1 + (i % 2) * 0.01), Array.from({ length: 40 }, (_, i) => (i % 2 === 1 ? up : down)));

describe('obv-trend', () => {
  it('buys when volume flows in on the rises and sells when it flows out on the falls, the prices being the same', () => {
    expect(analyze(obv, swing(3, 1))).toMatchObject({ action: 'buy' });
    expect(analyze(obv, swing(1, 3))).toMatchObject({ action: 'sell' });
    expect(analyze(obv, swing(1, 1))).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('is surer the more one-sided the flow, and a higher threshold holds a weak one', () => {
    const weak = analyze(obv, swing(2, 1));
    const strong = analyze(obv, swing(10, 1));
    expect(weak.action).toBe('buy');
    expect(strong.confidence).toBeGreaterThan(weak.confidence);
    expect(analyze(obv, swing(2, 1), { threshold: 0.4 })).toMatchObject({ action: 'hold' });
  });

  it('follows a steady rise or fall, and holds when nothing traded', () => {
    const rise = Array.from({ length: 30 }, (_, i) => 1 + 0.001 * i);
    expect(analyze(obv, fromCloses(rise))).toMatchObject({ action: 'buy' });
    expect(analyze(obv, fromCloses([...rise].reverse()))).toMatchObject({ action: 'sell' });
    expect(analyze(obv, fromCloses(rise, rise.map(() => 0)))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(obv, flat(30))).toMatchObject({ action: 'hold', confidence: 0 });
  });
});
