import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTradesCsv, readTradesFile } from './trades.ts';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));
const HEADER = 'timestamp,id,side,price,amount,cost';

describe('parseTradesCsv', () => {
  it('reads every trade of the bundled XRP/ETH file', () => {
    const { trades, rejected } = readTradesFile(`${DATA}trades/XRP_ETH-trades.csv`);
    expect(rejected).toEqual([]);
    expect(trades.length).toBe(12477);
    expect(trades[0]).toEqual({ ts: 1570752011620, price: 0.00141342, amount: 23, side: 'sell' });
    expect(trades.at(-1)).toEqual({ ts: 1570965568844, price: 0.00152787, amount: 130, side: 'sell' });
    // Observed: the file is in time order, so aggregating it finds no late trades.
    expect(trades.every((t, i) => i === 0 || t.ts >= trades[i - 1]!.ts)).toBe(true);
  });

  const rows: Array<[row: string, reason: string]> = [
    ['1570752011620,1,sell,0.00141342,23,0.03250866', 'ok'], //   line 2
    ['abc,2,sell,0.0014,1,0.0014', 'bad-timestamp'], //           line 3
    ['1570752011620.5,3,sell,0.0014,1,0.0014', 'bad-timestamp'], // line 4
    ['-1,4,sell,0.0014,1,0.0014', 'bad-timestamp'], //            line 5
    ['1570752011621,5,buy,0,1,0', 'bad-price'], //                line 6
    ['1570752011621,6,buy,-0.0014,1,0', 'bad-price'], //          line 7
    ['1570752011621,7,buy,NaN,1,0', 'bad-price'], //              line 8
    ['1570752011621,8,buy,Infinity,1,0', 'bad-price'], //         line 9
    ['1570752011621,9,buy,0.0014,-1,0', 'bad-amount'], //         line 10
    ['1570752011621,10,buy,0.0014,NaN,0', 'bad-amount'], //       line 11
    ['1570752011621,11,buy,0.0014,1e300,0', 'bad-amount'], //     line 12
    ['1570752011621,12,buy,0.0014,1', 'malformed-row'], //        line 13
    ['1570752011621,13,hold,0.0014,1,0.0014', 'bad-side'], //     line 14
    ['', 'blank'], //                                              line 15
    ['1570752011622,14,,0.0014,0,0', 'ok'], //                    line 16: no side, zero amount
  ];
  const result = parseTradesCsv([HEADER, ...rows.map(([r]) => r)].join('\n'), 'bad-trades.csv');

  it('rejects bad rows with their line numbers and reasons', () => {
    const expected = rows.map(([raw, reason], i) => ({ line: i + 2, reason, raw })).filter((r) => r.reason !== 'ok' && r.reason !== 'blank');
    expect(result.rejected.map(({ line, reason, raw }) => ({ line, reason, raw }))).toEqual(expected);
  });

  it('keeps the good rows, with no side when the side is empty', () => {
    expect(result.trades).toEqual([
      { ts: 1570752011620, price: 0.00141342, amount: 23, side: 'sell' },
      { ts: 1570752011622, price: 0.0014, amount: 0 },
    ]);
  });

  it('throws naming the source when the header is wrong', () => {
    expect(() => parseTradesCsv('timestamp,open,high,low,close,volume\n', 'x/trades.csv')).toThrow(
      /x\/trades\.csv: expected the CSV header "timestamp,id,side,price,amount,cost"/,
    );
  });
});
