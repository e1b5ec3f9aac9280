import { describe, expect, it } from 'vitest';
import regime from './regime-detector.ts';
import { analyze, flat, fromCloses } from './_testkit.ts';

/** A zigzag of `n` closes swinging by `amp` around 1. */
const zigzag = (n: number, amp: number) => Array.from({ length: n }, (_, i) => 1 + (i % 2) * amp);

describe('regime-detector', () => {
  it('refuses rangeAdx >= trendAdx and volPeriod >= history, each on its own field', () => {
    expect(regime.params.safeParse({ rangeAdx: 30, trendAdx: 25 }).error!.issues).toMatchObject([
      { path: ['rangeAdx'], message: 'rangeAdx must be less than trendAdx' },
    ]);
    expect(regime.params.safeParse({ volPeriod: 50, history: 50 }).error!.issues).toMatchObject([
      { path: ['volPeriod'], message: 'volPeriod must be less than history' },
    ]);
  });

  it('labels a steady climb trending, a zigzag ranging, and a sudden swing volatile, always as a hold', () => {
    // Uneven steps, so the returns vary as a real market's do.
    const climb = Array.from({ length: 250 }, (_, i) => 1.002 ** i * (1 + (i % 3) * 0.0005));
    const trending = analyze(regime, fromCloses(climb));
    expect(trending).toMatchObject({ action: 'hold', regime: 'trending' });
    expect(trending.confidence).toBeGreaterThan(0.5);

    const ranging = analyze(regime, fromCloses(zigzag(250, 0.01)));
    expect(ranging).toMatchObject({ action: 'hold', regime: 'ranging' });
    expect(ranging.confidence).toBeGreaterThan(0);

    const volatile = analyze(regime, fromCloses([...zigzag(230, 0.002), ...zigzag(20, 0.02)]));
    expect(volatile).toMatchObject({ action: 'hold', regime: 'volatile' });
    expect(volatile.confidence).toBeGreaterThan(0);
  });

  it('is surer of volatility the further recent swings outgrow their norm', () => {
    const mild = analyze(regime, fromCloses([...zigzag(230, 0.005), ...zigzag(20, 0.01)]));
    const wild = analyze(regime, fromCloses([...zigzag(230, 0.005), ...zigzag(20, 0.03)]));
    expect(mild.regime).toBe('volatile');
    expect(wild.confidence).toBeGreaterThan(mild.confidence);
    expect(analyze(regime, fromCloses([...zigzag(230, 0.005), ...zigzag(20, 0.01)]), { volatileRatio: 5 }).regime).not.toBe('volatile');
  });

  it('says nothing on a market that did not move', () => {
    const still = analyze(regime, flat(250));
    expect(still).toEqual({ action: 'hold', confidence: 0, reason: 'price did not move over 201 candles' });
  });
});
