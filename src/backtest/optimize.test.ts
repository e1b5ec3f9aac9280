import { describe, expect, it } from 'vitest';
import type { PerformanceMetrics } from '../core/performance.ts';
import { expandGrid, summarizeSweep, walkForwardParts, type SweepRun } from './optimize.ts';

const metrics = (sharpe: number | null): PerformanceMetrics => ({ sharpe, totalReturn: 0, maxDrawdown: { depth: 0, peakTs: null, troughTs: null, durationMs: 0 }, trades: 1 }) as PerformanceMetrics;

describe('parameter sweeps', () => {
  it('expands a grid into every combination, first parameter slowest', () => {
    expect(expandGrid({ a: [1, 2], b: ['x', 'y', 'z'] })).toEqual([
      { a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 1, b: 'z' },
      { a: 2, b: 'x' }, { a: 2, b: 'y' }, { a: 2, b: 'z' },
    ]);
    expect(() => expandGrid({ a: [] })).toThrow(/a has no values/);
  });

  it('cuts the span into folds + 1 consecutive parts on candle boundaries, covering it all', () => {
    const parts = walkForwardParts({ from: 0, to: 99 * 300_000 }, 3, 300_000);
    expect(parts).toHaveLength(4);
    expect(parts[0]!.from).toBe(0);
    expect(parts.at(-1)!.to).toBe(99 * 300_000);
    for (let k = 1; k < parts.length; k++) expect(parts[k]!.from).toBe(parts[k - 1]!.to + 300_000);
    expect(() => walkForwardParts({ from: 0, to: 5 * 300_000 }, 3, 300_000)).toThrow(/cannot be cut/);
  });

  it('ranks by the objective, undefined last, and walks forward: picked in sample, judged on the next part', () => {
    const grid = { p: [1, 2, 3] };
    const combos = expandGrid(grid);
    const parts = [{ from: 0, to: 1 }, { from: 2, to: 3 }, { from: 4, to: 5 }];
    // In sample on part 0, combo 2 is best; on part 1 it is worst: overfitted.
    const sharpe: Record<string, Array<number | null>> = { full: [0.5, null, 1], 0: [0.1, 0.2, 3], 1: [1, 2, -1], 2: [0.3, 0.1, 0.2] };
    const runs: SweepRun[] = [];
    for (const [segment, values] of Object.entries(sharpe)) values.forEach((v, combo) => runs.push({ combo, segment: segment === 'full' ? 'full' : Number(segment), metrics: metrics(v) }));
    runs.push({ combo: 1, segment: 2, error: 'boom' });
    const report = summarizeSweep({ objective: 'sharpe', currency: 'BTC', grid, combos, span: { from: 0, to: 5 }, parts, runs: runs.filter((r) => !(r.combo === 1 && r.segment === 2 && !r.error)) });
    expect(report.ranking.map((r) => [r.combo, r.objective])).toEqual([[2, 1], [0, 0.5], [1, null]]);
    expect(report.walkForward.folds).toEqual([
      expect.objectContaining({ fold: 1, chosen: 2, inSampleObjective: 3, outOfSampleObjective: -1, outOfSampleRank: 3 }),
      expect.objectContaining({ fold: 2, chosen: 1, inSampleObjective: 2, outOfSampleObjective: null, outOfSampleRank: null }),
    ]);
    expect(report.walkForward.inSampleMean).toBe(2.5);
    expect(report.walkForward.outOfSampleMean).toBe(-1);
    expect(report.walkForward.efficiency).toBeCloseTo(-0.4, 12);
    expect(report.failed).toEqual([{ combo: 1, segment: 2, error: 'boom' }]);
  });
});
