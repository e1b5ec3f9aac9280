import { describe, expect, it } from 'vitest';
import { windowFromCandles } from '../src/core/candle.ts';
import donchian from './donchian-breakout.ts';
import { analyze } from './_testkit.ts';

describe('donchian-breakout', () => {
  it('buys a close above the previous high and sells one below the previous low, not its own', () => {
    const base = Array.from({ length: 21 }, (_, i) => ({ ts: i * 300_000, open: 1, high: 1.1, low: 0.9, close: 1, volume: 1 }));
    const last = (close: number) => windowFromCandles([...base.slice(0, 20), { ts: 20 * 300_000, open: 1, high: Math.max(1, close), low: Math.min(1, close), close, volume: 1 }]);
    expect(analyze(donchian, last(1.2))).toMatchObject({ action: 'buy' });
    expect(analyze(donchian, last(0.8))).toMatchObject({ action: 'sell' });
    expect(analyze(donchian, last(1.05))).toMatchObject({ action: 'hold' });
    expect(analyze(donchian, last(1.3)).confidence).toBeGreaterThan(analyze(donchian, last(1.15)).confidence);
  });
});
