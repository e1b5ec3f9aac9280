import { describe, expect, it } from 'vitest';
import cci from './cci.ts';
import { analyze, fromCloses } from './_testkit.ts';

// A triangle-wave range of 3 cents, then a breakout up by 10 cents that stalls and eases back.
const closes = [...Array.from({ length: 30 }, (_, i) => 1 + 0.01 * Math.abs((i % 6) - 3)), 1.04, 1.06, 1.09, 1.1, 1.1, 1.09, 1.08];
const at = (series: number[], n: number, raw: Record<string, unknown> = {}) => analyze(cci, fromCloses(series.slice(0, n)), raw);

describe('cci', () => {
  it('refuses threshold >= extreme with a clear message on threshold', () => {
    const result = cci.params.safeParse({ threshold: 300, extreme: 250 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['threshold'], message: 'threshold must be less than extreme' }]);
  });

  it('holds inside ±100 and buys the candle CCI breaks above +100', () => {
    const inside = at(closes, 30);
    expect(inside).toMatchObject({ action: 'hold', confidence: 0 });
    expect(inside.reason).toContain('within ±100');
    const breakout = at(closes, 31);
    expect(breakout).toMatchObject({ action: 'buy' });
    expect(breakout.reason).toContain('crossed above +100');
    // The same break does not clear a higher bar.
    expect(at(closes, 31, { threshold: 200 })).toMatchObject({ action: 'hold' });
  });

  it('is surer further out, and less sure once CCI eases back', () => {
    const first = at(closes, 31);
    const further = at(closes, 32);
    expect(further.confidence).toBeGreaterThan(first.confidence);
    const peak = at(closes, 33);
    const easing = at(closes, 34);
    expect(easing).toMatchObject({ action: 'buy' });
    expect(easing.reason).toContain('easing back');
    expect(easing.confidence).toBeLessThan(peak.confidence);
  });

  it('sells the mirror image below -100', () => {
    const mirror = closes.map((c) => 3 - c);
    const breakdown = at(mirror, 31);
    expect(breakdown).toMatchObject({ action: 'sell' });
    expect(breakdown.reason).toContain('crossed below -100');
  });
});
