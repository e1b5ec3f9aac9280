import { describe, expect, it } from 'vitest';
import roc from './rate-of-change.ts';
import { analyze, fromCloses } from './_testkit.ts';

// 110 candles of a quiet ±0.4% zigzag, then a climb of a cent a candle for 15 candles, then a flat top.
const quiet = Array.from({ length: 110 }, (_, i) => 1 + 0.002 * Math.abs((i % 8) - 4));
const climb = [...quiet, ...Array.from({ length: 15 }, (_, i) => 1 + 0.01 * (i + 1)), 1.15, 1.15, 1.15];
const at = (closes: number[], n: number, raw: Record<string, unknown> = {}) => analyze(roc, fromCloses(closes.slice(0, n)), raw);

describe('rate-of-change', () => {
  it('refuses a lookback shorter than twice the period, on lookback', () => {
    const result = roc.params.safeParse({ period: 30, lookback: 50 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['lookback'], message: 'lookback must be at least twice period' }]);
  });

  it('holds while the ROC is of its usual size, buys once it is unusually large and still growing', () => {
    const usual = at(climb, 110);
    expect(usual).toMatchObject({ action: 'hold', confidence: 0 });
    expect(usual.reason).toContain('within 1.5× typical');
    const strong = at(climb, 112);
    expect(strong).toMatchObject({ action: 'buy' });
    // Further from usual is surer.
    expect(at(climb, 113).confidence).toBeGreaterThan(strong.confidence);
    // A higher bar makes the same move ordinary.
    expect(at(climb, 112, { entry: 4 })).toMatchObject({ action: 'hold' });
  });

  it('holds once the move is losing speed, however large the ROC still is', () => {
    const top = at(climb, 128);
    expect(top).toMatchObject({ action: 'hold', confidence: 0 });
    expect(top.reason).toContain('losing speed');
  });

  it('sells a sudden fall', () => {
    const fall = [...quiet, ...Array.from({ length: 4 }, (_, i) => 1 - 0.01 * (i + 1))];
    expect(at(fall, fall.length)).toMatchObject({ action: 'sell' });
  });
});
