import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvDocument, csvField } from './csv.ts';
import { parseCsv } from '../../test/helpers/csvParse.ts';

describe('csvField', () => {
  it('leaves plain text and numbers unquoted', () => {
    expect(csvField('ETH/BTC')).toBe('ETH/BTC');
    expect(csvField('-0.00012')).toBe('-0.00012');
    expect(csvField(0.25)).toBe('0.25');
  });

  it('quotes a field holding a comma, a quote, CR or LF and doubles its quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });

  it('writes null and undefined as empty fields', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
  });

  it('refuses NaN and infinities instead of writing them', () => {
    expect(() => csvField(Number.NaN)).toThrow(/finite/);
    expect(() => csvField(Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });
});

describe('csvDocument', () => {
  it('ends every record, the header included, with CRLF', () => {
    expect(csvDocument(['a', 'b'], [['1', 2]])).toBe('a,b\r\n1,2\r\n');
  });

  it('refuses a row whose width differs from the header', () => {
    expect(() => csvDocument(['a', 'b'], [['1']])).toThrow(/1 fields, the header 2/);
  });

  it('reads back as exactly the fields written, whatever the text', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'Z', ',', '"', '\r', '\n', ' ', 'é', '\u2028', ';') });
    fc.assert(fc.property(fc.array(fc.tuple(field, field, field), { maxLength: 8 }), (rows) => {
      const parsed = parseCsv(csvDocument(['x', 'y', 'z'], rows));
      expect(parsed).toEqual([['x', 'y', 'z'], ...rows]);
    }));
  });
});
