import { describe, expect, it } from 'vitest';
import macd from './macd-cross.ts';
import { analyze, fromCloses } from './_testkit.ts';

/** `n` closes going down from 2 by `step` each candle, then `m` going up by `up`. */
function vee(n: number, step: number, m: number, up: number): number[] {
  const closes = Array.from({ length: n }, (_, i) => 2 - step * i);
  for (let i = 1; i <= m; i++) closes.push(closes[n - 1]! + up * i);
  return closes;
}

describe('macd-cross', () => {
  it('refuses fast >= slow with a clear message on fast', () => {
    const result = macd.params.safeParse({ fast: 26, slow: 26 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['fast'], message: 'fast must be less than slow' }]);
  });

  it('buys on the candle the MACD line crosses above its signal line after a fall, and sells the mirror', () => {
    const closes = vee(100, 0.005, 30, 0.01);
    // Through the fall the histogram narrows towards zero: hold; the first candle up crosses it.
    const at = (series: number[], n: number) => analyze(macd, fromCloses(series.slice(0, n)));
    expect(at(closes, 100)).toMatchObject({ action: 'hold', confidence: 0 });
    const cross = at(closes, 101);
    expect(cross).toMatchObject({ action: 'buy' });
    expect(cross.reason).toContain('crossed above');
    expect(at(closes, 102).reason).toContain('widening above');
    const mirror = closes.map((c) => 3 - c);
    expect(at(mirror, 100)).toMatchObject({ action: 'hold', confidence: 0 });
    const down = at(mirror, 101);
    expect(down).toMatchObject({ action: 'sell' });
    expect(down.reason).toContain('crossed below');
  });

  it('holds while the histogram narrows, even on the bullish side', () => {
    // A rise that stops: the MACD line stays above its signal line a while, but closing in.
    const closes = [...Array.from({ length: 80 }, () => 1), ...Array.from({ length: 30 }, (_, i) => 1 + 0.01 * (i + 1)), 1.3, 1.3];
    const signal = analyze(macd, fromCloses(closes));
    expect(signal).toMatchObject({ action: 'hold', confidence: 0 });
    expect(signal.reason).toContain('above its signal line but');
    expect(signal.reason).toContain('narrowing');
  });

  it('is surer when the MACD line is on the same side of zero than on a bounce inside a downtrend', () => {
    // Same bounce; only in the first does the MACD line reach above zero by the time we look.
    const long = analyze(macd, fromCloses(vee(100, 0.002, 8, 0.01)));
    const early = analyze(macd, fromCloses(vee(100, 0.002, 4, 0.01)));
    expect(long.action).toBe('buy');
    expect(early.action).toBe('buy');
    expect(long.reason).toContain('agrees with zero line');
    expect(early.reason).toContain('against zero line');
    expect(long.confidence).toBeGreaterThan(early.confidence);
  });
});
