import { describe, expect, it } from 'vitest';
import keltner from './keltner-reversion.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** 60 closes swinging 1 / 1.01 (true range about 0.012), then `last`. */
const swingThen = (last: number) => fromCloses([...Array.from({ length: 60 }, (_, i) => 1 + (i % 2) * 0.01), last]);

describe('keltner-reversion', () => {
  it('buys a close below EMA - 2 ATR, sells one above EMA + 2 ATR, holds inside', () => {
    expect(analyze(keltner, swingThen(0.96))).toMatchObject({ action: 'buy' });
    expect(analyze(keltner, swingThen(1.05))).toMatchObject({ action: 'sell' });
    expect(analyze(keltner, swingThen(1.0))).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('is surer the further outside the channel, and a wider channel holds the same close', () => {
    const near = analyze(keltner, swingThen(0.965));
    const far = analyze(keltner, swingThen(0.94));
    expect(near.action).toBe('buy');
    expect(far.confidence).toBeGreaterThan(near.confidence);
    expect(analyze(keltner, swingThen(0.965), { multiplier: 5 })).toMatchObject({ action: 'hold' });
  });

  it('holds when the channel has no width and refuses out-of-bounds params', () => {
    expect(analyze(keltner, flat(80))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(keltner.params.safeParse({ multiplier: 0 }).success).toBe(false);
    expect(keltner.params.safeParse({ emaPeriod: 1 }).success).toBe(false);
  });
});
