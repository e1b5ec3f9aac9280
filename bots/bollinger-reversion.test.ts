import { describe, expect, it } from 'vitest';
import bollinger from './bollinger-reversion.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** 19 closes swinging 1 / 1.01, then `last`. */
const swingThen = (last: number) => fromCloses([...Array.from({ length: 19 }, (_, i) => 1 + (i % 2) * 0.01), last]);

describe('bollinger-reversion', () => {
  it('buys a close below the lower band, sells one above the upper band, holds inside', () => {
    expect(analyze(bollinger, swingThen(0.985))).toMatchObject({ action: 'buy' });
    expect(analyze(bollinger, swingThen(1.025))).toMatchObject({ action: 'sell' });
    expect(analyze(bollinger, swingThen(1.002))).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('is surer the further outside the band, fully sure one sd past it', () => {
    // -2.4 sd: 0.4 sd past the band.
    const near = analyze(bollinger, swingThen(0.99));
    const far = analyze(bollinger, swingThen(0.98));
    expect(near.action).toBe('buy');
    expect(near.confidence).toBeCloseTo(0.3 + 0.7 * 0.4, 1);
    expect(far).toMatchObject({ action: 'buy', confidence: 1 });
  });

  it('fades only past its own band width: the same close is inside 4.5 sd bands', () => {
    expect(analyze(bollinger, swingThen(0.985), { stdDevs: 4.5 })).toMatchObject({ action: 'hold' });
  });

  it('holds on a market that did not move and refuses out-of-bounds params', () => {
    expect(analyze(bollinger, flat(40))).toMatchObject({ action: 'hold', confidence: 0, reason: 'price did not move over 20 candles' });
    expect(bollinger.params.safeParse({ period: 1 }).success).toBe(false);
    expect(bollinger.params.safeParse({ stdDevs: 0 }).success).toBe(false);
  });
});
