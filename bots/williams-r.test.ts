import { describe, expect, it } from 'vitest';
import williams from './williams-r.ts';
import { analyze, fromCloses } from './_testkit.ts';

// A quiet range, a slide of 10 cents to the bottom of the 14-candle range, then a slow climb back.
const closes = [
  ...Array.from({ length: 30 }, (_, i) => 1 + 0.01 * (i % 2)),
  ...Array.from({ length: 10 }, (_, i) => 1 - 0.01 * (i + 1)),
  0.905, 0.915, 0.92, 0.925, 0.93, 0.935, 0.94,
];
const at = (series: number[], n: number, raw: Record<string, unknown> = {}) => analyze(williams, fromCloses(series.slice(0, n)), raw);

describe('williams-r', () => {
  it('refuses oversold >= overbought with a clear message on oversold', () => {
    const result = williams.params.safeParse({ oversold: -20, overbought: -80 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['oversold'], message: 'oversold must be less than overbought' }]);
  });

  it('holds while %R is oversold, even turning up, and buys on the candle it climbs out', () => {
    const turning = at(closes, 43);
    expect(turning).toMatchObject({ action: 'hold', confidence: 0 });
    expect(turning.reason).toContain('oversold, waiting');
    const exit = at(closes, 44);
    expect(exit).toMatchObject({ action: 'buy' });
    expect(exit.reason).toContain('left oversold -80 on this candle');
  });

  it('lets an exit count for `within` candles, less each candle, then forgets it', () => {
    const confidences = [44, 45, 46].map((n) => at(closes, n)).map((s) => (s.action === 'buy' ? s.confidence : 0));
    expect(confidences[0]).toBeGreaterThan(confidences[1]!);
    expect(confidences[1]).toBeGreaterThan(confidences[2]!);
    expect(confidences[2]).toBeGreaterThan(0);
    expect(at(closes, 47).reason).toContain('no zone exit in the last 3 candles');
    expect(at(closes, 47, { within: 5 })).toMatchObject({ action: 'buy' });
  });

  it('sells when %R drops back out of overbought', () => {
    const mirror = closes.map((c) => 2 - c);
    expect(at(mirror, 43)).toMatchObject({ action: 'hold' });
    const exit = at(mirror, 44);
    expect(exit).toMatchObject({ action: 'sell' });
    expect(exit.reason).toContain('left overbought -20');
  });
});
