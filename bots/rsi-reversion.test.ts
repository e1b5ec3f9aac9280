import { describe, expect, it } from 'vitest';
import { windowFromCandles } from '../src/core/candle.ts';
import rsi from './rsi-reversion.ts';
import { analyze } from './_testkit.ts';

describe('rsi-reversion', () => {
  it('refuses oversold >= overbought and out-of-bounds thresholds', () => {
    expect(rsi.params.safeParse({ oversold: 70, overbought: 30 }).error!.issues[0]!.message).toBe('oversold must be less than overbought');
    expect(rsi.params.safeParse({ overbought: 100 }).success).toBe(false);
  });

  it('buys after a fall and is surer the deeper the RSI', () => {
    const fall = (losses: number) =>
      windowFromCandles(Array.from({ length: 45 + losses }, (_, i) => {
        // Up and down alternately, then a run of equal losses.
        const c = i < 45 ? 1 + (i % 2) * 0.01 : 1 - 0.01 * (i - 44);
        return { ts: i * 300_000, open: c, high: c, low: c, close: c, volume: 1 };
      }));
    const shallow = analyze(rsi, fall(8));
    const deep = analyze(rsi, fall(14));
    expect(shallow.action).toBe('buy');
    expect(deep.action).toBe('buy');
    expect(deep.confidence).toBeGreaterThan(shallow.confidence);
  });
});
