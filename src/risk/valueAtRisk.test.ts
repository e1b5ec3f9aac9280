import { describe, expect, it } from 'vitest';
import { alignedReturns } from './returns.ts';
import { portfolioReturns, riskFigures } from './valueAtRisk.ts';

const options = { confidence: 0.95, paths: 300, horizon: 50, seed: 7 };

describe('value at risk', () => {
  it('historical VaR and CVaR are the loss at the 5th percentile and the mean loss beyond it', () => {
    // 100 returns: -10%, -9% ... -1%, then ninety of +1%.
    const returns = [...Array.from({ length: 10 }, (_, i) => -(10 - i) / 100), ...Array.from({ length: 90 }, () => 0.01)];
    const f = riskFigures(returns, options)!;
    expect(f.historicalVar).toBeGreaterThan(0.05);
    expect(f.historicalVar).toBeLessThan(0.06);
    expect(f.historicalCvar).toBeGreaterThan(f.historicalVar);
    expect(f.parametricVar).toBeGreaterThan(0);
    expect(f.parametricCvar).toBeGreaterThan(f.parametricVar);
    expect(f.monteCarlo.p95MaxDrawdown).toBeGreaterThanOrEqual(f.monteCarlo.meanMaxDrawdown);
    expect(f.monteCarlo.p95MaxDrawdown).toBeLessThanOrEqual(1);
  });

  it('parametric VaR of a normal-looking series is mean + 1.645 sd', () => {
    const returns = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 0.01 : -0.01));
    expect(riskFigures(returns, options)!.parametricVar).toBeCloseTo(1.645 * 0.01, 3);
  });

  it('is reproducible for a seed, and says nothing without history', () => {
    const returns = Array.from({ length: 200 }, (_, i) => Math.sin(i) / 50);
    expect(riskFigures(returns, options)).toEqual(riskFigures(returns, options));
    expect(riskFigures([], options)).toBeNull();
    expect(riskFigures([0.01], options)).toBeNull();
  });

  it('weights each market by its share of equity, over the candles they share', () => {
    const r = alignedReturns({
      'A/BTC': [{ ts: 0, close: 1 }, { ts: 1, close: 1.1 }, { ts: 2, close: 1.1 }, { ts: 3, close: 0.99 }],
      'B/BTC': [{ ts: 0, close: 2 }, { ts: 1, close: 2 }, { ts: 3, close: 2.2 }],
    });
    expect(r['A/BTC']).toHaveLength(2);
    expect(r['A/BTC']![1]).toBeCloseTo(0.99 / 1.1 - 1);
    const p = portfolioReturns({ 'A/BTC': 0.5, 'B/BTC': 0.25 }, r);
    expect(p[1]).toBeCloseTo(0.5 * (0.99 / 1.1 - 1) + 0.25 * 0.1);
  });
});
