import { describe, expect, it } from 'vitest';
import breakout from './atr-channel-breakout.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** 20 closes swinging 1 / 1.01 (ATR about 0.012, last of them 1.01), then `last`. */
const swingThen = (last: number) => fromCloses([...Array.from({ length: 20 }, (_, i) => 1 + (i % 2) * 0.01), last]);

describe('atr-channel-breakout', () => {
  it('buys a close more than 1.5 ATR above the previous close, sells one more than 1.5 ATR below', () => {
    expect(analyze(breakout, swingThen(1.035))).toMatchObject({ action: 'buy' });
    expect(analyze(breakout, swingThen(0.985))).toMatchObject({ action: 'sell' });
    // One ATR up is a normal candle here.
    expect(analyze(breakout, swingThen(1.022))).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('measures against the ATR before the breakout candle, so a big candle does not raise its own bar', () => {
    // 5 ATR: if the breakout's own range were averaged in, the bar would rise with it.
    const big = analyze(breakout, swingThen(1.07), { multiplier: 4 });
    expect(big.action).toBe('buy');
  });

  it('is surer the bigger the move, and a higher multiplier holds the same close', () => {
    const small = analyze(breakout, swingThen(1.035));
    const large = analyze(breakout, swingThen(1.045));
    expect(large.confidence).toBeGreaterThan(small.confidence);
    expect(analyze(breakout, swingThen(1.035), { multiplier: 3 })).toMatchObject({ action: 'hold' });
  });

  it('holds when nothing moved and refuses out-of-bounds params', () => {
    expect(analyze(breakout, flat(30))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(breakout.params.safeParse({ multiplier: 0 }).success).toBe(false);
    expect(breakout.params.safeParse({ period: 1 }).success).toBe(false);
  });
});
