import { describe, expect, it } from 'vitest';
import adx from './adx-dmi.ts';
import { analyze, fromCloses } from './_testkit.ts';

const N = 80;
const rise = fromCloses(Array.from({ length: N }, (_, i) => 1 + 0.01 * i));
const fall = fromCloses(Array.from({ length: N }, (_, i) => 2 - 0.01 * i));
// Up 4 cents twice, then down 5: still an uptrend, with pullbacks.
const choppyRise = fromCloses(Array.from({ length: N }, (_, i) => 1 + 0.01 * i + 0.03 * (i % 3)));
// A triangle wave: as much movement down as up.
const range = fromCloses(Array.from({ length: N }, (_, i) => 1 + 0.01 * Math.abs((i % 6) - 3)));

describe('adx-dmi', () => {
  it('refuses threshold >= strong with a clear message on threshold', () => {
    const result = adx.params.safeParse({ threshold: 50, strong: 50 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['threshold'], message: 'threshold must be less than strong' }]);
  });

  it('follows the leading DI when ADX shows a trend: +DI buys, -DI sells', () => {
    expect(analyze(adx, rise)).toMatchObject({ action: 'buy' });
    expect(analyze(adx, fall)).toMatchObject({ action: 'sell' });
    expect(analyze(adx, rise).reason).toContain('uptrend');
  });

  it('holds in a range, where ADX is low, and below a raised threshold', () => {
    const ranging = analyze(adx, range);
    expect(ranging).toMatchObject({ action: 'hold', confidence: 0 });
    expect(ranging.reason).toContain('no trend');
    // The choppy rise's ADX is about 60: a trend at 25, none at 70.
    expect(analyze(adx, choppyRise)).toMatchObject({ action: 'buy' });
    expect(analyze(adx, choppyRise, { threshold: 70, strong: 90 })).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('is surer of a clean trend than of one with pullbacks', () => {
    expect(analyze(adx, rise).confidence).toBeGreaterThan(analyze(adx, choppyRise).confidence);
  });
});
