import { describe, expect, it } from 'vitest';
import { aggregate, type Vote } from './aggregate.ts';
import { positionTarget } from '../risk/positionCap.ts';

const policy = { minVoters: 2, minAgreement: 0.5, minConfidence: 0.2 };
const vote = (instanceId: string, action: Vote['action'], confidence = 0.8, weight = 1): Vote => ({ instanceId, botId: 'b', weight, action, confidence, reason: '' });

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
});

describe('positionTarget', () => {
  const buy = aggregate([vote('a', 'buy'), vote('b', 'buy')], policy);
  it('targets at most the configured fraction of equity', () => {
    expect(positionTarget(buy, { equity: '2.5' }, { maxPositionFraction: 0.1 })).toMatchObject({ verdict: 'target', targetValue: '0.25' });
  });
  it('targets flat on sell and changes nothing on hold', () => {
    expect(positionTarget({ ...buy, action: 'sell' }, { equity: '1' }, { maxPositionFraction: 0.1 })).toMatchObject({ verdict: 'target', targetValue: '0' });
    expect(positionTarget({ ...buy, action: 'hold' }, { equity: '1' }, { maxPositionFraction: 0.1 }).verdict).toBe('none');
  });
  it('denies instead of sizing when equity or the fraction is not a sane number', () => {
    for (const equity of ['0', '-1', 'NaN', 'abc']) expect(positionTarget(buy, { equity }, { maxPositionFraction: 0.1 }).verdict).toBe('deny');
    for (const f of [0, -0.1, 1.5, Number.NaN]) expect(positionTarget(buy, { equity: '1' }, { maxPositionFraction: f }).verdict).toBe('deny');
  });
});
