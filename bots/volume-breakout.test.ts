import { describe, expect, it } from 'vitest';
import breakout from './volume-breakout.ts';
import { analyze, fromCloses } from './_testkit.ts';

/** 20 closes swinging 1 / 1.01 on volume `base`, then `last` on `volume`. */
const swingThen = (last: number, volume: number, base = 1) =>
  fromCloses([...Array.from({ length: 20 }, (_, i) => 1 + (i % 2) * 0.01), last], [...Array.from({ length: 20 }, () => base), volume]);

describe('volume-breakout', () => {
  it('buys a close above the previous 20 closes and sells one below them on heavy volume', () => {
    expect(analyze(breakout, swingThen(1.02, 3))).toMatchObject({ action: 'buy' });
    expect(analyze(breakout, swingThen(0.99, 3))).toMatchObject({ action: 'sell' });
  });

  it('holds a breakout on ordinary volume, and heavy volume without a breakout', () => {
    const thin = analyze(breakout, swingThen(1.02, 1.5));
    expect(thin).toMatchObject({ action: 'hold', confidence: 0 });
    expect(thin.reason).toContain('unconfirmed');
    expect(analyze(breakout, swingThen(1.005, 10))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(breakout, swingThen(1.02, 1.5), { volumeRatio: 1.2 })).toMatchObject({ action: 'buy' });
  });

  it('is surer on heavier volume and a bigger break', () => {
    const light = analyze(breakout, swingThen(1.015, 2.5));
    expect(analyze(breakout, swingThen(1.015, 4)).confidence).toBeGreaterThan(light.confidence);
    expect(analyze(breakout, swingThen(1.02, 2.5)).confidence).toBeGreaterThan(light.confidence);
  });

  it('holds when nothing traded before the breakout and refuses out-of-bounds params', () => {
    expect(analyze(breakout, swingThen(1.05, 10, 0))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(breakout.params.safeParse({ volumeRatio: 0.5 }).success).toBe(false);
    expect(breakout.params.safeParse({ lookback: 1 }).success).toBe(false);
  });
});
