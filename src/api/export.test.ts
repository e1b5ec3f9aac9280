import { describe, expect, it } from 'vitest';
import { toCsv, toJsonLines } from './export.ts';

describe('exports', () => {
  it('quotes cells with commas, quotes and line breaks (RFC 4180)', () => {
    expect(toCsv([{ a: 'x,y', b: 'say "hi"', c: 'two\nlines' }], ['a', 'b', 'c'])).toBe('a,b,c\r\n"x,y","say ""hi""","two\nlines"\r\n');
  });

  it('defuses text a spreadsheet would run as a formula, but keeps negative numbers as numbers', () => {
    const csv = toCsv([{ reason: '=HYPERLINK("http://evil")', pnl: '-0.0057', note: '-cmd', at: '@SUM(A1)' }], ['reason', 'pnl', 'note', 'at']);
    expect(csv.split('\r\n')[1]).toBe(`"'=HYPERLINK(""http://evil"")",-0.0057,'-cmd,'@SUM(A1)`);
  });

  it('writes empty cells for missing values and one JSON document per line', () => {
    expect(toCsv([{ a: null, b: undefined, c: 0 }], ['a', 'b', 'c'])).toBe('a,b,c\r\n,,0\r\n');
    expect(toJsonLines([{ a: 1 }, { b: 'x' }])).toBe('{"a":1}\n{"b":"x"}\n');
    expect(toJsonLines([])).toBe('');
  });
});
