import type { EquityPoint } from '../core/performance.ts';
import type { Trade } from '../core/roundTrips.ts';
import { csvDocument, type CsvValue } from './csv.ts';
import { underwater } from './underwater.ts';

const iso = (ts: number | null): string | null => (ts === null ? null : new Date(ts).toISOString());

export const TRADES_CSV_HEADER = [
  'id', 'symbol', 'side', 'quote', 'status', 'quantity',
  'entry_time', 'entry_ts', 'entry_price', 'exit_time', 'exit_ts', 'exit_price',
  'fees', 'pnl', 'return', 'exit_reason', 'exit_detail', 'entry_reason',
  'voters', 'entry_orders', 'exit_orders',
] as const;

/**
 * trades.csv: one row per round trip, every field of the Trade. Times appear twice, as ISO 8601
 * UTC for people and as Unix ms for programs. `voters` is "instance:share" joined by ";" (shares
 * sum to 1), order ids are joined by ";". Money stays the exact decimal strings of the report.
 */
export function tradesCsv(trades: readonly Trade[]): string {
  return csvDocument(TRADES_CSV_HEADER, trades.map((t): CsvValue[] => [
    t.id, t.symbol, t.side, t.quote, t.status, t.quantity,
    iso(t.entryTs), t.entryTs, t.entryPrice, iso(t.exitTs), t.exitTs, t.exitPrice,
    t.fees, t.pnl, t.returnPct, t.exitReason, t.exitDetail, t.entryReason,
    t.voters.map((v) => `${v.instanceId}:${v.share}`).join(';'),
    t.entryOrders.join(';'),
    t.exitOrders.join(';'),
  ]));
}

export const EQUITY_CSV_HEADER = ['time', 'ts', 'currency', 'equity', 'drawdown'] as const;

/** equity.csv: every equity point of every currency (currencies in name order), with its drawdown fraction from the running peak. */
export function equityCsv(equity: Readonly<Record<string, readonly EquityPoint[]>>): string {
  const rows: CsvValue[][] = [];
  for (const currency of Object.keys(equity).sort()) {
    for (const p of underwater(equity[currency]!)) rows.push([iso(p.ts), p.ts, currency, p.equity, p.drawdown]);
  }
  return csvDocument(EQUITY_CSV_HEADER, rows);
}
