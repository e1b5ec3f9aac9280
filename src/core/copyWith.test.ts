import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyWith, hasKeysInOrder } from './copyWith.ts';

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

describe('hasKeysInOrder', () => {
  it('answers what comparing Object.keys with the list answers, for plain objects', () => {
    const KEYS = ['instanceId', 'botId', 'weight', 'family', 'role', 'action', 'confidence', 'reason'];
    // Objects built from a shuffled, shortened or extended key list, so that true cases are common.
    const source = fc.record({
      keys: fc.shuffledSubarray([...KEYS, 'regime', 'limitPrice', '0', '__proto__'], { minLength: 0 }),
      ordered: fc.boolean(),
      nullProto: fc.boolean(),
    });
    fc.assert(
      fc.property(source, ({ keys, ordered, nullProto }) => {
        const chosen = ordered ? KEYS.filter((k) => keys.includes(k)).concat(keys.filter((k) => !KEYS.includes(k))) : keys;
        const o: Record<string, unknown> = nullProto ? Object.create(null) : {};
        for (const k of chosen) Object.defineProperty(o, k, { value: 1, enumerable: true, writable: true, configurable: true });
        expect(hasKeysInOrder(o, KEYS)).toBe(JSON.stringify(Object.keys(o)) === JSON.stringify(KEYS));
      }),
      { numRuns: 3000 },
    );
  });

  it('is false for an object with an inherited enumerable key (whatever its own keys)', () => {
    const o = Object.create({ extra: 1 }) as Record<string, unknown>;
    o.a = 1;
    expect(hasKeysInOrder(o, ['a'])).toBe(false);
    expect(hasKeysInOrder({ a: 1 }, ['a'])).toBe(true);
    // Own keys that begin the list and inherited ones that end it: Object.keys lists only the own.
    expect(hasKeysInOrder(o, ['a', 'extra'])).toBe(false);
    expect(hasKeysInOrder(Object.create(null), [])).toBe(true);
  });
});
