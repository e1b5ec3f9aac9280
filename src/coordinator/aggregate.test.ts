import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregate, withEffectiveWeight, type AggregationPolicy, type Vote } from './aggregate.ts';
import { scoreVote, type TrackRecord } from './trackRecord.ts';

const policy: AggregationPolicy = {
  method: 'confidence-weighted',
  minVoters: 2,
  minAgreement: 0.5,
  minConfidence: 0.2,
  trackRecord: { metric: 'off', halfLife: 100, prior: 0 },
  regimeWeights: {},
};
const vote = (instanceId: string, action: Vote['action'], confidence = 0.8, weight = 1, extra: Partial<Vote> = {}): Vote => ({
  instanceId,
  botId: 'b',
  family: 'trend',
  role: 'vote',
  weight,
  action,
  confidence,
  reason: '',
  ...extra,
});

describe('aggregate', () => {
  it('buys when enough weight agrees with enough confidence', () => {
    const c = aggregate([vote('a', 'buy'), vote('b', 'buy'), vote('c', 'hold')], policy);
    expect(c.action).toBe('buy');
    expect(c.agreement).toBeCloseTo(2 / 3);
    expect(c.confidence).toBeCloseTo(0.8);
  });

  it('holds without a quorum of voters', () => {
    expect(aggregate([vote('a', 'buy')], policy)).toMatchObject({ action: 'hold', reason: expect.stringMatching(/no quorum/) });
  });

  it('never turns opposite wishes into two orders: one side wins or the market holds', () => {
    expect(aggregate([vote('a', 'buy', 0.9), vote('b', 'sell', 0.5), vote('c', 'sell', 0.5)], policy).action).toBe('sell');
    expect(aggregate([vote('a', 'buy', 0.5), vote('b', 'sell', 0.5)], policy)).toMatchObject({ action: 'hold', reason: 'buy and sell tied' });
  });

  it('holds when the winner lacks agreement or confidence', () => {
    expect(aggregate([vote('a', 'buy'), vote('b', 'hold'), vote('c', 'hold')], policy).action).toBe('hold');
    expect(aggregate([vote('a', 'buy', 0.1), vote('b', 'buy', 0.1)], policy).reason).toMatch(/confidence 0.10 below 0.2/);
  });

  it('lets weights decide, and ignores zero, negative and non-finite weights or confidences', () => {
    expect(aggregate([vote('a', 'buy', 0.8, 3), vote('b', 'sell', 0.8, 1), vote('c', 'sell', 0.8, 1)], policy).action).toBe('buy');
    const c = aggregate([vote('a', 'buy', Number.NaN), vote('b', 'buy', 0.8, Number.POSITIVE_INFINITY), vote('c', 'sell', 0.8, -1), vote('d', 'buy'), vote('e', 'buy')], policy);
    expect(c.action).toBe('buy');
    expect(Number.isFinite(c.confidence) && Number.isFinite(c.agreement)).toBe(true);
  });

  it('majority counts weight alone: a confident minority loses', () => {
    const votes = [vote('a', 'buy', 1), vote('b', 'sell', 0.3), vote('c', 'sell', 0.3)];
    const open = { ...policy, minAgreement: 0 };
    expect(aggregate(votes, open).action).toBe('buy');
    expect(aggregate(votes, { ...open, method: 'majority' }).action).toBe('sell');
  });

  it('a veto bot blocks a buy but not a sell, and its signal is never a vote', () => {
    const veto = vote('guard', 'sell', 0.9, 1, { role: 'veto', family: 'risk', reason: 'crash' });
    const blocked = aggregate([vote('a', 'buy'), vote('b', 'buy'), veto], policy);
    expect(blocked).toMatchObject({ action: 'hold', vetoes: [{ instanceId: 'guard', reason: 'crash' }] });
    expect(blocked.reason).toMatch(/buy vetoed by guard \(crash\)/);
    expect(blocked.voters).toBe(2);
    expect(aggregate([vote('a', 'sell'), vote('b', 'sell'), veto], policy).action).toBe('sell');
    expect(aggregate([vote('a', 'buy'), vote('b', 'buy'), { ...veto, action: 'hold', confidence: 0 }], policy).action).toBe('buy');
  });

  it('weights families by the regime the regime bots report', () => {
    const regimeBot = vote('regime', 'hold', 0.9, 1, { role: 'regime', family: 'regime', regime: 'ranging' });
    const votes = [vote('trend', 'buy', 0.8, 1, { family: 'trend' }), vote('revert', 'sell', 0.8, 1, { family: 'mean-reversion' }), regimeBot];
    const weighted = { ...policy, minVoters: 1, minAgreement: 0, regimeWeights: { ranging: { 'mean-reversion': 2 }, trending: { trend: 2 } } };
    expect(aggregate(votes, weighted)).toMatchObject({ action: 'sell', regime: 'ranging' });
    expect(aggregate([...votes.slice(0, 2), { ...regimeBot, regime: 'trending' }], weighted)).toMatchObject({ action: 'buy', regime: 'trending' });
    expect(aggregate(votes.slice(0, 2), weighted)).toMatchObject({ action: 'hold', regime: null, reason: 'buy and sell tied' });
  });

  it("follows each instance's track record: a bot that has been right outweighs one that has been wrong", () => {
    let good: TrackRecord | undefined;
    let bad: TrackRecord | undefined;
    for (let t = 1; t <= 50; t++) {
      const size = t % 2 === 0 ? 0.02 : 0.005;
      good = scoreVote(good, size, t, 100);
      bad = scoreVote(bad, -size, t, 100);
    }
    const records = new Map([['good', good!], ['bad', bad!]]);
    const votes = [vote('good', 'buy', 0.6), vote('bad', 'sell', 0.7)];
    const tracked = { ...policy, minVoters: 1, minAgreement: 0, trackRecord: { metric: 'hit-rate' as const, halfLife: 100, prior: 10 } };
    expect(aggregate(votes, { ...policy, minVoters: 1, minAgreement: 0 }, records).action).toBe('sell');
    const c = aggregate(votes, tracked, records);
    expect(c.action).toBe('buy');
    const weight = Object.fromEntries(c.counted.map((v) => [v.instanceId, v.effectiveWeight]));
    expect(weight.good).toBeGreaterThan(1.5);
    expect(weight.bad).toBeLessThan(0.5);
    expect(aggregate(votes, { ...tracked, trackRecord: { ...tracked.trackRecord, metric: 'sharpe' } }, records).action).toBe('buy');
  });
});

describe('withEffectiveWeight', () => {
  it('gives what { ...vote, effectiveWeight } gives, key for key and in order, for the usual vote and any other', () => {
    const usual = ['instanceId', 'botId', 'weight', 'family', 'role', 'action', 'confidence', 'reason'];
    const votes = fc.record({
      extra: fc.subarray(['regime', 'limitPrice', 'effectiveWeight', 'note']),
      shuffle: fc.boolean(),
      seed: fc.integer(),
      values: fc.array(fc.oneof(fc.string(), fc.double(), fc.constantFrom('buy', 'sell', 'vote')), { minLength: 12, maxLength: 12 }),
    });
    fc.assert(
      fc.property(votes, fc.double(), ({ extra, shuffle, seed, values }, weight) => {
        let keys = [...usual, ...extra];
        if (shuffle) keys = keys.map((k, i) => [k, (i * 7919 + seed) % 13] as const).sort((a, b) => a[1] - b[1]).map(([k]) => k);
        const v = Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as Vote;
        const spread = { ...v, effectiveWeight: weight };
        const copied = withEffectiveWeight(v, weight);
        expect(Object.keys(copied)).toEqual(Object.keys(spread));
        for (const k of Object.keys(spread)) expect(Object.is((copied as unknown as Record<string, unknown>)[k], (spread as Record<string, unknown>)[k])).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
