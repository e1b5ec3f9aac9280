import { describe, expect, it } from 'vitest';
import { windowFromCandles } from '../src/core/candle.ts';
import ema from './ema-crossover.ts';
import { analyze } from './_testkit.ts';

describe('ema-crossover', () => {
  it('refuses fast >= slow with a clear message on fast', () => {
    const result = ema.params.safeParse({ fast: 21, slow: 21 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['fast'], message: 'fast must be less than slow' }]);
  });

  it('buys in a steady rise and sells in a steady fall, surer the wider the gap', () => {
    const ramp = (step: number) =>
      windowFromCandles(Array.from({ length: 100 }, (_, i) => {
        const c = 1 + step * i;
        return { ts: i * 300_000, open: c, high: c, low: c, close: c, volume: 1 };
      }));
    const gentle = analyze(ema, ramp(0.002));
    const steep = analyze(ema, ramp(0.01));
    expect(gentle.action).toBe('buy');
    expect(steep.confidence).toBeGreaterThan(gentle.confidence);
    expect(analyze(ema, ramp(-0.002)).action).toBe('sell');
  });
});
