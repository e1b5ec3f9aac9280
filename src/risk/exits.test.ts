import { describe, expect, it } from 'vitest';
import { checkExit, watchPosition, type ExitRules } from './exits.ts';

const rules: ExitRules = { stopLoss: 0.05, atrStop: 3, trailingStop: 0.04, takeProfit: 0.1, maxHoldMs: 3_600_000 };
const off: ExitRules = { stopLoss: 0, atrStop: 0, trailingStop: 0, takeProfit: 0, maxHoldMs: 0 };
const watch = (over = {}) => ({ entryTs: 0, entryPrice: 100, highWater: 100, atrAtEntry: 1, ...over });

describe('position monitor', () => {
  it('fixed stop: exits at the stop-loss fraction below entry, as a stop-out', () => {
    expect(checkExit(watch(), 95, 60_000, { ...off, stopLoss: 0.05 })).toMatchObject({ kind: 'stop-loss', stopOut: true });
    expect(checkExit(watch(), 95.1, 60_000, { ...off, stopLoss: 0.05 })).toBeNull();
  });

  it('ATR stop: exits N ATRs (taken at entry) below entry', () => {
    expect(checkExit(watch({ atrAtEntry: 1 }), 97, 60_000, { ...off, atrStop: 3 })).toMatchObject({ kind: 'atr-stop', stopOut: true });
    expect(checkExit(watch({ atrAtEntry: 1 }), 97.5, 60_000, { ...off, atrStop: 3 })).toBeNull();
    expect(checkExit(watch({ atrAtEntry: null }), 50, 60_000, { ...off, atrStop: 3 })).toBeNull();
  });

  it('trailing stop: trails the highest close; above entry it locks a gain and is not a stop-out', () => {
    let w = watchPosition(undefined, 100, 0, 100, 1);
    for (const close of [104, 110, 108]) w = watchPosition(w, 100, 1, close, 1);
    expect(w.highWater).toBe(110);
    expect(checkExit(w, 105.5, 60_000, { ...off, trailingStop: 0.04 })).toMatchObject({ kind: 'trailing-stop', stopOut: false });
    expect(checkExit(w, 106, 60_000, { ...off, trailingStop: 0.04 })).toBeNull();
    expect(checkExit(watch({ highWater: 102 }), 97, 60_000, { ...off, trailingStop: 0.04 })).toMatchObject({ kind: 'trailing-stop', stopOut: true });
  });

  it('take profit: exits at the target gain', () => {
    expect(checkExit(watch(), 110, 60_000, { ...off, takeProfit: 0.1 })).toMatchObject({ kind: 'take-profit', stopOut: false, reason: expect.stringMatching(/\+10\.00%/) });
    expect(checkExit(watch(), 109.9, 60_000, { ...off, takeProfit: 0.1 })).toBeNull();
  });

  it('time exit: exits after the longest allowed hold', () => {
    expect(checkExit(watch(), 100, 3_600_000, { ...off, maxHoldMs: 3_600_000 })).toMatchObject({ kind: 'time-exit' });
    expect(checkExit(watch(), 100, 3_599_999, { ...off, maxHoldMs: 3_600_000 })).toBeNull();
  });

  it('checks stops before profit-taking before time, and never exits on garbage', () => {
    expect(checkExit(watch({ entryTs: -1e12 }), 90, 0, rules)?.kind).toBe('stop-loss');
    for (const close of [Number.NaN, 0, -1, Number.POSITIVE_INFINITY]) expect(checkExit(watch(), close, 0, rules)).toBeNull();
  });
});
