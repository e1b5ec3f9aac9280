import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteOf } from './market.ts';

describe('quoteOf', () => {
  it("answers what symbol.split('/')[1] answers, for any string", () => {
    const symbolLike = fc.array(fc.constantFrom('/', 'X', 'MR', ':', 'USDT', ''), { maxLength: 8 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(symbolLike, fc.string()), (s) => {
        expect(quoteOf(s)).toBe(s.split('/')[1]);
      }),
      { numRuns: 5000 },
    );
  });
});
