import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyWith } from './copyWith.ts';

describe('copyWith', () => {
  it('gives what the object spread gives: the same keys in the same order, the key replaced in place', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('effectiveWeight', '__proto__', '0', '10')), fc.anything()), fc.constantFrom('effectiveWeight', 'a', '1'), fc.anything(), (source, key, value) => {
        const spread = { ...source, [key]: value };
        const copied = copyWith(source, key, value);
        expect(Object.keys(copied)).toEqual(Object.keys(spread));
        expect(Object.getPrototypeOf(copied)).toBe(Object.getPrototypeOf(spread));
        for (const k of Object.keys(spread)) expect(Object.is((copied as Record<string, unknown>)[k], (spread as Record<string, unknown>)[k])).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
