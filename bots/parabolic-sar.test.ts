import { describe, expect, it } from 'vitest';
import psar from './parabolic-sar.ts';
import { analyze, fromCloses } from './_testkit.ts';

// 40 candles up a cent each, then down 2 cents each: the low pierces the trailing SAR on candle 42.
const riseThenFall = [...Array.from({ length: 40 }, (_, i) => 1 + 0.01 * i), ...Array.from({ length: 10 }, (_, i) => 1.39 - 0.02 * (i + 1))];
const at = (closes: number[], n: number) => analyze(psar, fromCloses(closes.slice(0, n)));

describe('parabolic-sar', () => {
  it('refuses step >= max with a clear message on step', () => {
    const result = psar.params.safeParse({ step: 0.2, max: 0.2 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['step'], message: 'step must be less than max' }]);
  });

  it('buys while price rides above the SAR and sells from the candle it reverses, surest then', () => {
    expect(at(riseThenFall, 40)).toMatchObject({ action: 'buy' });
    // The first candle down stays above the stop.
    expect(at(riseThenFall, 41)).toMatchObject({ action: 'buy' });
    const reversal = at(riseThenFall, 42);
    expect(reversal).toMatchObject({ action: 'sell' });
    expect(reversal.reason).toContain('(reversed,');
    const after = at(riseThenFall, 43);
    expect(after).toMatchObject({ action: 'sell' });
    expect(after.reason).toContain('reversed 1 candle ago');
    expect(reversal.confidence).toBeGreaterThan(after.confidence);
    expect(at(riseThenFall.map((c) => 3 - c), 42)).toMatchObject({ action: 'buy' });
  });

  it('says the same at BTC-quoted prices: nothing in it depends on the price scale', () => {
    // A fall, then a jump through the SAR from the lowest low: where the library's PSAR puts its stop at low - 0.01.
    const closes = [...Array.from({ length: 40 }, (_, i) => 2 - 0.01 * i), ...Array.from({ length: 15 }, (_, i) => 1.64 + 0.03 * (i + 1))];
    for (let n = 20; n <= closes.length; n++) {
      const big = at(closes, n);
      const tiny = at(closes.map((c) => c * 1e-6), n);
      expect(tiny.action).toBe(big.action);
      expect(tiny.confidence).toBeCloseTo(big.confidence, 9);
    }
    expect(at(closes, closes.length)).toMatchObject({ action: 'buy' });
  });
});
