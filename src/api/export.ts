import type { Fill, OrderRecord } from '../core/order.ts';
import type { Trade } from '../core/roundTrips.ts';

export type ExportKind = 'orders' | 'fills' | 'trades';
type Row = Record<string, string | number | boolean | null | undefined>;

export function orderRow(o: OrderRecord): Row {
  return {
    clientOrderId: o.intent.clientOrderId,
    symbol: o.intent.symbol,
    side: o.intent.side,
    type: o.intent.type,
    amount: o.intent.amount,
    limitPrice: o.intent.type === 'limit' ? o.intent.price : null,
    decisionTs: o.intent.decisionTs,
    timeframe: o.timeframe,
    status: o.status,
    filledAmount: o.filledAmount,
    remaining: o.remaining,
    avgPrice: o.avgPrice,
    filledCost: o.filledCost,
    fillCount: o.fillCount,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    reason: o.reason ?? o.intent.reason,
    venueOrderId: o.venueOrderId ?? null,
  };
}

export function fillRow(f: Fill): Row {
  return { clientOrderId: f.clientOrderId, symbol: f.symbol, side: f.side, amount: f.amount, price: f.price, cost: f.cost ?? null, fee: f.fee, feeCurrency: f.feeCurrency, ts: f.ts };
}

export function tradeRow(t: Trade): Row {
  return {
    id: t.id,
    symbol: t.symbol,
    quote: t.quote,
    status: t.status,
    quantity: t.quantity,
    entryTs: t.entryTs,
    entryPrice: t.entryPrice,
    exitTs: t.exitTs,
    exitPrice: t.exitPrice,
    fees: t.fees,
    pnl: t.pnl,
    returnPct: t.returnPct,
    entryReason: t.entryReason,
    exitReason: t.exitReason,
    exitDetail: t.exitDetail,
    voters: t.voters.map((v) => `${v.instanceId}:${v.share}`).join(' '),
  };
}

/**
 * One CSV cell (RFC 4180 quoting). A text cell a spreadsheet would run as a formula (=, +, @, or
 * a '-' that is not a number) is prefixed with a quote mark: an export must not execute.
 */
function cell(value: Row[string]): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+@\t\r]|^-(?![\d.])/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: Row[], columns: string[]): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

/** One JSON document per line: the full records, not the flattened rows. */
export function toJsonLines(records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

export const EXPORT_COLUMNS: Record<ExportKind, string[]> = {
  orders: Object.keys(orderRow({ intent: { clientOrderId: '', symbol: '', side: 'buy', type: 'market', amount: '', decisionTs: 0, reason: '' }, timeframe: '', status: 'open', createdAt: 0, updatedAt: 0, filledAmount: '', remaining: '', filledCost: '', avgPrice: '', fillCount: 0 })),
  fills: ['clientOrderId', 'symbol', 'side', 'amount', 'price', 'cost', 'fee', 'feeCurrency', 'ts'],
  trades: ['id', 'symbol', 'quote', 'status', 'quantity', 'entryTs', 'entryPrice', 'exitTs', 'exitPrice', 'fees', 'pnl', 'returnPct', 'entryReason', 'exitReason', 'exitDetail', 'voters'],
};
