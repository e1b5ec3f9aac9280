import { describe, expect, it } from 'vitest';
import guard from './crash-guard.ts';
import { analyze, fromCloses } from './_testkit.ts';

// 60 candles of a quiet ±0.4% zigzag, then a 5% slide over three candles that stops.
const quiet = Array.from({ length: 60 }, (_, i) => 1 + 0.004 * Math.abs((i % 4) - 2));
const crash = [...quiet, 0.99, 0.97, 0.95, 0.95, 0.96, 0.96, 0.96];
const at = (series: number[], n: number, raw: Record<string, unknown> = {}) => analyze(guard, fromCloses(series.slice(0, n)), raw);

describe('crash-guard', () => {
  it('is a risk veto', () => {
    expect(guard).toMatchObject({ role: 'veto', family: 'risk' });
  });

  it('refuses a lookback as long as the ATR period, on lookback', () => {
    const result = guard.params.safeParse({ lookback: 14, atrPeriod: 14 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['lookback'], message: 'lookback must be less than atrPeriod' }]);
  });

  it('holds in a calm market and vetoes while the last candles fell many ATRs, surer the deeper', () => {
    const calm = at(crash, 60);
    expect(calm).toMatchObject({ action: 'hold', confidence: 0 });
    expect(calm.reason).toContain('calm');
    // One candle of -1.4% is not yet a crash; three are.
    expect(at(crash, 61)).toMatchObject({ action: 'hold' });
    const hit = at(crash, 62);
    expect(hit).toMatchObject({ action: 'sell' });
    expect(hit.reason).toContain('crash: fell');
    const deeper = at(crash, 63);
    expect(deeper.confidence).toBeGreaterThan(hit.confidence);
    // Once the slide is older than the lookback, entries are free again.
    expect(at(crash, 67)).toMatchObject({ action: 'hold', confidence: 0 });
    // A looser limit lets the first leg through.
    expect(at(crash, 62, { k: 5 })).toMatchObject({ action: 'hold' });
  });

  it('vetoes a volatility spike whatever its direction, and never says buy', () => {
    const jump = [...quiet, 1.06, 1.06];
    const spike = at(jump, 61);
    expect(spike).toMatchObject({ action: 'sell' });
    expect(spike.reason).toContain('volatility spike');
    expect(spike.reason).not.toContain('crash');
    for (const series of [crash, jump]) {
      for (let n = 0; n <= series.length; n++) expect(at(series, n).action).not.toBe('buy');
    }
  });
});
