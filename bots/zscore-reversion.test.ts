import { describe, expect, it } from 'vitest';
import zscore from './zscore-reversion.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** 50 closes swinging 1 / 1.01 (mean 1.005, sd 0.005), then `last`. */
const swingThen = (last: number) => fromCloses([...Array.from({ length: 50 }, (_, i) => 1 + (i % 2) * 0.01), last]);

describe('zscore-reversion', () => {
  it('refuses entry >= full with a clear message on entry', () => {
    const result = zscore.params.safeParse({ entry: 3, full: 3 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['entry'], message: 'entry must be less than full' }]);
    expect(zscore.params.safeParse({ entry: 3, full: 5 }).success).toBe(true);
  });

  it('scores the close against the N closes before it: buy below -entry, sell above +entry', () => {
    // z = -3: halfway from entry 2 to full 4.
    const buy = analyze(zscore, swingThen(0.99));
    expect(buy.action).toBe('buy');
    expect(buy.confidence).toBeCloseTo(0.625, 6);
    expect(analyze(zscore, swingThen(1.02))).toMatchObject({ action: 'sell' });
    expect(analyze(zscore, swingThen(1.0))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(zscore, swingThen(0.99), { entry: 3.5, full: 5 })).toMatchObject({ action: 'hold' });
  });

  it('is fully sure at or past full', () => {
    expect(analyze(zscore, swingThen(0.98)).confidence).toBe(1);
    expect(analyze(zscore, swingThen(0.98)).confidence).toBeGreaterThan(analyze(zscore, swingThen(0.994)).confidence);
  });

  it('holds when the past did not move, whatever the last close', () => {
    const still = fromCloses([...Array.from({ length: 50 }, () => 1), 0.9]);
    expect(analyze(zscore, still)).toMatchObject({ action: 'hold', confidence: 0 });
    expect(analyze(zscore, flat(60))).toMatchObject({ action: 'hold', confidence: 0 });
  });
});
