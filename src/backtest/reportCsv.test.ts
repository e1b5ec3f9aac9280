import { describe, expect, it } from 'vitest';
import { maxDrawdown, type EquityPoint } from '../core/performance.ts';
import type { Trade } from '../core/roundTrips.ts';
import { parseCsv } from '../../test/helpers/csvParse.ts';
import { EQUITY_CSV_HEADER, equityCsv, TRADES_CSV_HEADER, tradesCsv } from './reportCsv.ts';

const closedTrade: Trade = {
  id: 'q-ETH-BTC-1515600000000-buy',
  symbol: 'ETH/BTC',
  side: 'long',
  quote: 'BTC',
  quantity: '1.5',
  entryTs: Date.UTC(2018, 0, 10, 16, 0),
  entryPrice: '0.0984',
  exitTs: Date.UTC(2018, 0, 11, 2, 5),
  exitPrice: '0.1012',
  fees: '0.0002994',
  pnl: '0.0039006',
  returnPct: 0.026374,
  status: 'closed',
  exitReason: 'take-profit',
  exitDetail: 'price 0.1012 reached take profit, "2 %" above entry,\r\nclosing',
  entryReason: 'weighted vote 0.8 ≥ quorum 0.6',
  voters: [{ instanceId: 'ema-fast', share: 0.75 }, { instanceId: 'rsi,14', share: 0.25 }],
  entryOrders: ['q-ETH-BTC-1515600000000-buy', 'q-ETH-BTC-1515600300000-buy'],
  exitOrders: ['q-ETH-BTC-1515636300000-sell'],
};

const openTrade: Trade = {
  ...closedTrade,
  id: 'q-LTC-BTC-1',
  symbol: 'LTC/BTC',
  side: 'long',
  exitTs: null,
  exitPrice: '0.0171',
  status: 'open',
  exitReason: null,
  exitDetail: null,
  entryReason: null,
  voters: [],
  entryOrders: ['q-LTC-BTC-1'],
  exitOrders: [],
};

describe('tradesCsv', () => {
  it('writes a header and one record per trade with every field, quoting what needs it', () => {
    const rows = parseCsv(tradesCsv([closedTrade, openTrade]));
    expect(rows[0]).toEqual([...TRADES_CSV_HEADER]);
    expect(rows).toHaveLength(3);
    const row = Object.fromEntries(TRADES_CSV_HEADER.map((h, i) => [h, rows[1]![i]]));
    expect(row).toEqual({
      id: closedTrade.id,
      symbol: 'ETH/BTC',
      side: 'long',
      quote: 'BTC',
      status: 'closed',
      quantity: '1.5',
      entry_time: '2018-01-10T16:00:00.000Z',
      entry_ts: String(closedTrade.entryTs),
      entry_price: '0.0984',
      exit_time: '2018-01-11T02:05:00.000Z',
      exit_ts: String(closedTrade.exitTs),
      exit_price: '0.1012',
      fees: '0.0002994',
      pnl: '0.0039006',
      return: '0.026374',
      exit_reason: 'take-profit',
      exit_detail: closedTrade.exitDetail,
      entry_reason: closedTrade.entryReason,
      voters: 'ema-fast:0.75;rsi,14:0.25',
      entry_orders: 'q-ETH-BTC-1515600000000-buy;q-ETH-BTC-1515600300000-buy',
      exit_orders: 'q-ETH-BTC-1515636300000-sell',
    });
  });

  it('leaves the exit fields of an open trade empty but keeps its mark price', () => {
    const rows = parseCsv(tradesCsv([openTrade]));
    const row = Object.fromEntries(TRADES_CSV_HEADER.map((h, i) => [h, rows[1]![i]]));
    expect(row).toMatchObject({ status: 'open', exit_time: '', exit_ts: '', exit_price: '0.0171', exit_reason: '', voters: '', exit_orders: '' });
  });

  it('is just the header when there are no trades', () => {
    expect(tradesCsv([])).toBe(`${TRADES_CSV_HEADER.join(',')}\r\n`);
  });
});

describe('equityCsv', () => {
  const t0 = Date.UTC(2018, 0, 10);
  const btc: EquityPoint[] = [1, 1.1, 0.99, 1.045, 1.2, 1.08].map((equity, i) => ({ ts: t0 + i * 300_000, equity }));
  const eth: EquityPoint[] = [{ ts: t0, equity: 10 }, { ts: t0 + 300_000, equity: 9 }];

  it('writes one record per point per currency, with ISO and ms time and the drawdown from the running peak', () => {
    const rows = parseCsv(equityCsv({ ETH: eth, BTC: btc }));
    expect(rows[0]).toEqual([...EQUITY_CSV_HEADER]);
    expect(rows).toHaveLength(1 + btc.length + eth.length);
    expect(rows[1]).toEqual(['2018-01-10T00:00:00.000Z', String(t0), 'BTC', '1', '0']);
    expect(rows.slice(1, 7).map((r) => Number(r[4]))).toEqual([0, 0, 0.11 / 1.1, 0.055 / 1.1, 0, 0.12 / 1.2].map((x) => expect.closeTo(x, 12)));
    expect(rows[7]).toEqual(['2018-01-10T00:00:00.000Z', String(t0), 'ETH', '10', '0']);
    expect(Number(rows[8]![4])).toBeCloseTo(0.1, 12);
  });

  it("has as its deepest drawdown the core's maximum drawdown depth", () => {
    const rows = parseCsv(equityCsv({ BTC: btc })).slice(1);
    expect(Math.max(...rows.map((r) => Number(r[4])))).toBe(maxDrawdown(btc).depth);
  });
});
