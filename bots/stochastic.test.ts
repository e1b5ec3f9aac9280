import { describe, expect, it } from 'vitest';
import stochastic from './stochastic.ts';
import { analyze, fromCloses } from './_testkit.ts';

// A quiet range, a slide of 12 cents, then a bounce back up through the range.
const closes = [
  ...Array.from({ length: 30 }, (_, i) => 1 + 0.01 * (i % 2)),
  ...Array.from({ length: 12 }, (_, i) => 1 - 0.01 * (i + 1)),
  0.9, 0.91, 0.93, 0.96, 0.99, 1.0, 1.01,
];
const at = (series: number[], n: number) => analyze(stochastic, fromCloses(series.slice(0, n)));

describe('stochastic', () => {
  it('refuses oversold >= overbought with a clear message on oversold', () => {
    const result = stochastic.params.safeParse({ oversold: 80, overbought: 20 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['oversold'], message: 'oversold must be less than overbought' }]);
  });

  it('holds through an oversold slide until %K turns up through %D, then buys, surest on the cross', () => {
    const sliding = at(closes, 42);
    expect(sliding).toMatchObject({ action: 'hold', confidence: 0 });
    expect(sliding.reason).toContain('not yet turned up');
    const cross = at(closes, 43);
    expect(cross).toMatchObject({ action: 'buy' });
    expect(cross.reason).toContain('crossed above');
    const next = at(closes, 44);
    expect(next).toMatchObject({ action: 'buy' });
    expect(cross.confidence).toBeGreaterThan(next.confidence);
    // Out of the zone the bounce is no longer this bot's business.
    expect(at(closes, 47)).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('sells the mirror image: overbought and %K turning down through %D', () => {
    const mirror = closes.map((c) => 2 - c);
    expect(at(mirror, 42)).toMatchObject({ action: 'hold' });
    const cross = at(mirror, 43);
    expect(cross).toMatchObject({ action: 'sell' });
    expect(cross.reason).toContain('crossed below');
  });

  it('moves its zones with the thresholds', () => {
    // %D 6.6 on candle 44: oversold under 20, not under 5.
    expect(analyze(stochastic, fromCloses(closes.slice(0, 44)), { oversold: 5 })).toMatchObject({ action: 'hold' });
  });
});
