import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainSignal } from './botCall.ts';
import { SignalSchema } from './signal.ts';

/** Mostly valid fields, sometimes invalid, missing or undefined ones, and now and then a stray key. */
const often = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: invalid, weight: 1 });
const signalLike = fc
  .tuple(
    fc.record(
      {
        action: often(fc.constantFrom('buy', 'sell', 'hold'), fc.oneof(fc.constantFrom('BUY', '', null), fc.integer())),
        confidence: often(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof(fc.double(), fc.constantFrom(-0, 1.0000001, Number.NaN, Infinity, '0.5'))),
        reason: often(fc.string({ maxLength: 200 }), fc.oneof(fc.string({ minLength: 195, maxLength: 210 }), fc.constantFrom(undefined, null, 3))),
        limitPrice: often(fc.double({ min: Number.MIN_VALUE, max: 1e12, noNaN: true }), fc.oneof(fc.double(), fc.constantFrom(undefined, 0, -0, -1, Infinity, '2'))),
        regime: often(fc.constantFrom('trending', 'ranging', 'volatile'), fc.constantFrom('calm', undefined, null, 1)),
      },
      { requiredKeys: ['action', 'confidence'] },
    ),
    fc.option(fc.tuple(fc.string(), fc.anything()), { freq: 8 }),
  )
  .map(([signal, stray]) => (stray ? { ...signal, [stray[0]]: stray[1] } : signal));

describe('plainSignal', () => {
  it('answers only what zod answers, with the same keys in the same order', () => {
    let taken = 0;
    fc.assert(
      fc.property(signalLike, (value) => {
        const fast = plainSignal(value);
        if (fast === undefined) return;
        taken++;
        const parsed = SignalSchema.safeParse(value);
        expect(parsed.success).toBe(true);
        expect(Object.entries(fast)).toEqual(Object.entries(parsed.data!));
      }),
      { numRuns: 20_000 },
    );
    // The property must have been tried on the fast path, not only on refusals.
    expect(taken).toBeGreaterThan(500);
  });

  it('names by hand exactly the keys and actions of the schema', () => {
    // plainSignal's switch and action comparisons: a key added to the schema would only go to zod,
    // but one removed would be taken by the fast path and refused by zod.
    expect(Object.keys(SignalSchema.shape)).toEqual(['action', 'confidence', 'reason', 'limitPrice', 'regime']);
    expect(SignalSchema.shape.action.options).toEqual(['buy', 'sell', 'hold']);
  });

  it('takes the usual plain answers itself, and leaves class instances, arrays and null to zod', () => {
    expect(plainSignal({ action: 'buy', confidence: 0.5, reason: 'up' })).toEqual({ action: 'buy', confidence: 0.5, reason: 'up' });
    expect(plainSignal({ action: 'hold', confidence: 0 })).toEqual({ action: 'hold', confidence: 0, reason: '' });
    expect(plainSignal({ action: 'buy', confidence: 1, reason: '', limitPrice: 2, regime: 'ranging' })).toEqual({ action: 'buy', confidence: 1, reason: '', limitPrice: 2, regime: 'ranging' });
    class Answer {
      action = 'buy';
      confidence = 0.5;
    }
    for (const odd of [new Answer(), [], null, 'buy', { action: 'buy', confidence: 0.5, limitPrice: undefined }]) expect(plainSignal(odd)).toBeUndefined();
    // A symbol key: zod's strict object ignores it, and so does the fast path.
    const tagged = { action: 'sell', confidence: 0.25, reason: 'r', [Symbol('tag')]: 1 };
    expect(SignalSchema.safeParse(tagged)).toMatchObject({ success: true, data: { action: 'sell', confidence: 0.25, reason: 'r' } });
    expect(plainSignal(tagged)).toEqual(SignalSchema.parse(tagged));
    expect(Object.getOwnPropertySymbols(plainSignal(tagged))).toEqual([]);
  });
});
