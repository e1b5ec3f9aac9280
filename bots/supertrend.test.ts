import { describe, expect, it } from 'vitest';
import supertrend from './supertrend.ts';
import { analyze, fromCloses } from './_testkit.ts';

// 60 candles up a cent each, then down 3 cents each: the close breaks the trailing band on candle 62.
const closes = [...Array.from({ length: 60 }, (_, i) => 1 + 0.01 * i), ...Array.from({ length: 12 }, (_, i) => 1.59 - 0.03 * (i + 1))];
const at = (series: number[], n: number) => analyze(supertrend, fromCloses(series.slice(0, n)));

describe('supertrend', () => {
  it('refuses a multiplier or period out of bounds', () => {
    expect(supertrend.params.safeParse({ multiplier: 0 }).success).toBe(false);
    expect(supertrend.params.safeParse({ period: 1 }).success).toBe(false);
  });

  it('buys while the close rides above the band, sells from the candle it breaks below', () => {
    expect(at(closes, 60)).toMatchObject({ action: 'buy' });
    expect(at(closes, 60).reason).toContain('stays above');
    // One candle down is a pullback the band absorbs; the second breaks it.
    expect(at(closes, 61)).toMatchObject({ action: 'buy' });
    const flip = at(closes, 62);
    expect(flip).toMatchObject({ action: 'sell' });
    expect(flip.reason).toContain('flipped below');
    expect(at(closes, 63).reason).toContain('stays below');
    const mirror = closes.map((c) => 3 - c);
    expect(at(mirror, 60)).toMatchObject({ action: 'sell' });
    expect(at(mirror, 62).reason).toContain('flipped above');
  });

  it('is surest on a flip and least sure when the close nears its stop', () => {
    const far = at(closes, 60);
    const near = at(closes, 61);
    expect(near.confidence).toBeLessThan(far.confidence);
    expect(at(closes, 62).confidence).toBeGreaterThan(at(closes, 63).confidence);
  });
});
