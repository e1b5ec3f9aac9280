import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { timeframeMs } from '../core/timeframe.ts';
import { parseCandleCsv, parseNumberField, readCandleFile } from './candleCsv.ts';
import { resolveReplayFiles } from './replayFiles.ts';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));
const HEADER = 'timestamp,open,high,low,close,volume';

describe('parseCandleCsv on the bundled real data', () => {
  // Observed: every row of every bundled file passes validation (no malformed rows, no
  // duplicates, nothing out of order). A change here means the data or the rules changed.
  const expectedRows: Record<string, number> = {
    'ADA/BTC 5m': 5720,
    'DASH/BTC 5m': 5758,
    'ETC/BTC 5m': 5759,
    'ETH/BTC 5m': 5760,
    'LTC/BTC 5m': 5760,
    'NXT/BTC 5m': 5760,
    'TRX/BTC 5m': 5754,
    'UNITTEST/BTC 1m': 13681,
    'UNITTEST/BTC 30m': 1920,
    'XLM/BTC 5m': 5760,
    'XMR/BTC 5m': 5758,
    'XRP/ETH 1m': 2469,
    'XRP/ETH 5m': 706,
    'ZEC/BTC 5m': 5757,
  };
  const files = resolveReplayFiles(['ohlcv'], { cwd: DATA });

  it('finds all 14 bundled candle files', () => {
    expect(files.map((f) => `${f.symbol} ${f.timeframe}`).sort()).toEqual(Object.keys(expectedRows).sort());
  });

  it.each(files.map((f) => [`${f.symbol} ${f.timeframe}`, f] as const))('accepts every row of %s', (name, file) => {
    const { accepted, rejected } = readCandleFile(file.path, file.timeframe);
    expect(rejected).toEqual([]);
    expect(accepted.length).toBe(expectedRows[name]);
    const dataLines = readFileSync(file.path, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '').length;
    expect(accepted.length).toBe(dataLines);
    expect(accepted[0]!.line).toBe(2);
  });

  it('accepts the real gaps (a sparse grid) rather than assuming one candle per interval', () => {
    const { accepted } = readCandleFile(`${DATA}ohlcv/ADA_BTC-5m.csv`, '5m');
    const first = accepted[0]!.candle.ts;
    const last = accepted.at(-1)!.candle.ts;
    const grid = (last - first) / timeframeMs('5m') + 1;
    expect(grid - accepted.length).toBe(40); // 40 five-minute intervals without a candle
  });

  it('reads exponent notation that the real UNITTEST file contains (1e-8 volume on line 4209)', () => {
    const { accepted } = readCandleFile(`${DATA}ohlcv/UNITTEST_BTC-1m.csv`, '1m');
    const row = accepted.find((r) => r.line === 4209)!;
    expect(row.candle).toEqual({ ts: 1510113660000, open: 0.00189385, high: 0.00189385, low: 0.00189385, close: 0.00189385, volume: 1e-8 });
  });
});

describe('parseCandleCsv on bad rows', () => {
  const T = 1570752000000; // aligned to 1m
  const M = 60_000;
  const rows: Array<[row: string, reason: string | 'ok']> = [
    [`${T},1,2,0.5,1.5,10`, 'ok'], //                        line 2
    [`${T + M},NaN,2,0.5,1.5,10`, 'not-finite'], //            line 3
    [`${T + M},1,2,0.5,1.5,10`, 'ok'], //                    line 4: good after a bad one
    [`${T + 2 * M},-1,2,0.5,1.5,10`, 'non-positive-price'], // line 5
    [`${T + 2 * M},1,1.4,0.5,1.5,10`, 'high-below-body'], //  line 6
    [`${T + 2 * M},1,2,1.2,1.5,10`, 'low-above-body'], //     line 7
    [`${T + 2 * M + 1234},1,2,0.5,1.5,10`, 'misaligned-timestamp'], // line 8
    [`${T},1,2,0.5,1.5,10`, 'not-increasing'], //              line 9
    [`${T + M},1,2,0.5,1.5,10`, 'duplicate'], //               line 10
    [`${T + 2 * M},1,2,0.5,1.5,1e300`, 'absurd-magnitude'], // line 11
    [`${T + 2 * M},1,2,0.5,1.5`, 'malformed-row'], //          line 12: 5 columns
    [`${T + 2 * M},1,2,abc,1.5,10`, 'malformed-row'], //       line 13: text in a number
    ['', 'blank'], //                                          line 14: skipped
    [`${T + 2 * M},1,2,0.5,1.5,-3`, 'negative-volume'], //     line 15
    [`${T + 2 * M},1,Infinity,0.5,1.5,10`, 'not-finite'], //   line 16
    [`${T + 2 * M},1,2,0.5,1.5,10,`, 'malformed-row'], //      line 17: trailing comma
    [`${T + 2 * M},1,2,0.5,,10`, 'malformed-row'], //          line 18: empty field
    [`${T + 2 * M},0x10,2,0.5,1.5,10`, 'malformed-row'], //    line 19: not a plain decimal
    [`${T + 2 * M},1,2,0.5,1.5,10`, 'ok'], //                line 20
    [`${T + 5 * M},1,2,0.5,1.5,0`, 'ok'], //                 line 21: a gap and zero volume are fine
  ];
  const text = [HEADER, ...rows.map(([r]) => r)].join('\n');
  const result = parseCandleCsv(text, { timeframe: '1m', source: 'bad.csv' });

  it('rejects each bad row with its reason and line number', () => {
    const expected = rows
      .map(([raw, reason], i) => ({ line: i + 2, reason, raw }))
      .filter((r) => r.reason !== 'ok' && r.reason !== 'blank');
    expect(result.rejected.map(({ line, reason, raw }) => ({ line, reason, raw }))).toEqual(expected);
    for (const r of result.rejected) expect(r.detail).not.toBe('');
  });

  it('accepts the good rows around them, in order', () => {
    expect(result.accepted.map((r) => r.line)).toEqual([2, 4, 20, 21]);
    expect(result.accepted.map((r) => r.candle.ts)).toEqual([T, T + M, T + 2 * M, T + 5 * M]);
  });

  it('names the column and value of an unparsable number', () => {
    expect(result.rejected.find((r) => r.line === 13)!.detail).toBe('low "abc" is not a number');
    expect(result.rejected.find((r) => r.line === 12)!.detail).toBe('expected 6 columns, found 5');
  });

  it('keeps the first of two candles with the same timestamp and says when they differ', () => {
    const { accepted, rejected } = parseCandleCsv(
      [HEADER, `${T},1,2,0.5,1.5,10`, `${T},1,2,0.5,1.5,10`, `${T},1,3,0.5,1.5,99`].join('\n'),
      { timeframe: '1m', source: 'dup.csv' },
    );
    expect(accepted.map((r) => r.candle)).toEqual([{ ts: T, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 }]);
    expect(rejected.map((r) => [r.line, r.reason])).toEqual([[3, 'duplicate'], [4, 'duplicate']]);
    expect(rejected[0]!.detail).toContain('ignored');
    expect(rejected[1]!.detail).toContain('different values');
  });

  it('accepts CRLF line endings, a BOM and a missing final newline', () => {
    const { accepted, rejected } = parseCandleCsv(`\uFEFF${HEADER}\r\n${T},1,2,0.5,1.5,10\r\n\r\n${T + M},1,2,0.5,1.5,10`, {
      timeframe: '1m',
      source: 'crlf.csv',
    });
    expect(rejected).toEqual([]);
    expect(accepted.map((r) => r.line)).toEqual([2, 4]);
  });
});

describe('parseCandleCsv header and options', () => {
  it('throws naming the source when the header is wrong', () => {
    expect(() => parseCandleCsv('ts,o,h,l,c,v\n1,1,1,1,1,1', { timeframe: '1m', source: 'data/x.csv' })).toThrow(
      /data\/x\.csv: expected the CSV header "timestamp,open,high,low,close,volume" on line 1, found "ts,o,h,l,c,v"/,
    );
  });

  it('throws naming the source when the header is missing', () => {
    expect(() => parseCandleCsv('', { timeframe: '1m', source: 'empty.csv' })).toThrow(/empty\.csv: .*found an empty first line/);
    expect(() => parseCandleCsv('1570752000000,1,2,0.5,1.5,10\n', { timeframe: '1m', source: 'nohdr.csv' })).toThrow(/nohdr\.csv/);
  });

  it('throws on an invalid timeframe', () => {
    expect(() => parseCandleCsv(`${HEADER}\n`, { timeframe: '5x', source: 'a.csv' })).toThrow(/invalid timeframe "5x"/);
  });

  it('parses only plain decimals, passing NaN and Infinity through for the validator', () => {
    expect(parseNumberField(' 0.5 ')).toBe(0.5);
    expect(parseNumberField('1e-8')).toBe(1e-8);
    expect(parseNumberField('.5')).toBe(0.5);
    expect(parseNumberField('NaN')).toBeNaN();
    expect(parseNumberField('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    for (const bad of ['', ' ', '0x10', '1_000', 'abc', '1.2.3', '1e', '--1']) expect(parseNumberField(bad)).toBeUndefined();
  });
});
