import { describe, expect, it } from 'vitest';
import { ensembleEdge, recordMean, recordMultiplier, recordVariance, scoreVote } from './trackRecord.ts';

describe('track record', () => {
  it('decays old observations by the half-life', () => {
    let r = scoreVote(undefined, 0.1, 1, 10);
    for (let t = 2; t <= 11; t++) r = scoreVote(r, 0, t, 10);
    // The first observation now counts half.
    expect(r.sum).toBeCloseTo(0.05);
    expect(r.n).toBeGreaterThan(7);
  });

  it('ignores non-finite returns', () => {
    const r = scoreVote(undefined, 0.01, 1, 10);
    expect(scoreVote(r, Number.NaN, 2, 10)).toEqual(r);
  });

  it('moves the weight little while young, and stays within [0.1, 2]', () => {
    const policy = { metric: 'hit-rate' as const, halfLife: 1000, prior: 20 };
    const one = scoreVote(undefined, 0.01, 1, 1000);
    expect(recordMultiplier(one, policy)).toBeCloseTo((2 * (1 + 10)) / 21);
    let wrong = one;
    for (let t = 2; t < 2000; t++) wrong = scoreVote(wrong, -0.01, t, 1000);
    expect(recordMultiplier(wrong, policy)).toBeGreaterThanOrEqual(0.1);
    expect(recordMultiplier(undefined, policy)).toBe(1);
    expect(recordMultiplier(wrong, { ...policy, metric: 'off' })).toBe(1);
  });

  it("estimates the ensemble's edge from its voters' records, weighted by weight × confidence", () => {
    let a = scoreVote(undefined, 0.02, 1, 100);
    a = scoreVote(a, 0.0, 2, 100);
    const b = scoreVote(undefined, -0.01, 1, 100);
    const edge = ensembleEdge([
      { weight: 1, confidence: 1, record: a },
      { weight: 1, confidence: 0.5, record: b },
    ])!;
    expect(edge.mean).toBeCloseTo((recordMean(a) * 1 + recordMean(b) * 0.5) / 1.5);
    expect(edge.variance).toBeCloseTo((recordVariance(a) * 1 + recordVariance(b) * 0.5) / 1.5);
    expect(ensembleEdge([])).toBeNull();
    expect(ensembleEdge([{ weight: 1, confidence: 1, record: undefined }])).toMatchObject({ mean: 0, samples: 0 });
  });
});
