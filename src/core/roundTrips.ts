import type { Decimal } from 'decimal.js';
import { baseOf, quoteOf } from './market.ts';
import type { Fill } from './order.ts';
import { Dec, toDecimal, toPlain } from './precision.ts';

/** What the decision behind an order said: why it traded, and who voted for it. */
export interface OrderContext {
  /** 'consensus': the bots' vote; 'exit': the position monitor (stop, take profit, time). */
  purpose: 'consensus' | 'exit';
  reason: string;
  /** The monitor's exit kind when purpose is 'exit' (stop-loss, atr-stop, trailing-stop, take-profit, time-exit). */
  exitKind?: string | undefined;
  /** Instances whose vote was for the order's side, with the weight × confidence they counted with. */
  voters: ReadonlyArray<{ instanceId: string; weight: number }>;
}

/**
 * One round trip of a long-only spot position: from flat, through every buy and sell, back to
 * flat (or still open at the end). Money is in the market's quote currency as decimal strings.
 */
export interface Trade {
  /** The client order id of the first entry order. */
  id: string;
  symbol: string;
  /** Spot round trips are long: bought, then sold. */
  side: 'long';
  quote: string;
  /** Base units bought in all (fees in base excluded). */
  quantity: string;
  entryTs: number;
  /** Volume-weighted average buy price. */
  entryPrice: string;
  /** Last exit fill; null while open. */
  exitTs: number | null;
  /** Volume-weighted average sell price; for an open trade, the mark it is valued at. */
  exitPrice: string | null;
  /** Fees of every fill, in the quote currency (a fee in base converted at its fill's price). */
  fees: string;
  /** Sell proceeds − buy cost − fees (realised, when closed); for an open trade, valued at the mark. */
  pnl: string;
  /** pnl / (buy cost + buy fees). */
  returnPct: number;
  status: 'closed' | 'open';
  /** Why it ended: the exit kind, or "consensus" for a sell by the bots; null while open. */
  exitReason: string | null;
  exitDetail: string | null;
  entryReason: string | null;
  /** The instances that voted for the entry, with their share of it (weights sum to 1). */
  voters: Array<{ instanceId: string; share: number }>;
  entryOrders: string[];
  exitOrders: string[];
}

interface Building {
  symbol: string;
  held: Decimal;
  bought: Decimal;
  buyCost: Decimal;
  buyCashOut: Decimal;
  sold: Decimal;
  sellValue: Decimal;
  sellCashIn: Decimal;
  fees: Decimal;
  entryTs: number;
  lastTs: number;
  entryOrders: string[];
  exitOrders: string[];
}

/**
 * Groups fills into round trips, per market, in fill order. A trade opens with the first buy from
 * flat and closes with the fill that brings the position back to zero. `marks` values trades
 * still open at the end (omit a market to leave its open trade unvalued: pnl then counts what is
 * realised so far only). Fills of other markets never mix; the result is sorted by entry time.
 */
export function roundTrips(
  fills: readonly Fill[],
  contextOf: (clientOrderId: string) => OrderContext | undefined,
  marks: Readonly<Record<string, string>> = {},
): Trade[] {
  const open = new Map<string, Building>();
  const trades: Trade[] = [];
  const ordered = [...fills].sort((a, b) => a.ts - b.ts);
  for (const fill of ordered) {
    const amount = toDecimal(fill.amount, `fill ${fill.clientOrderId} amount`);
    const price = toDecimal(fill.price, `fill ${fill.clientOrderId} price`);
    const fee = toDecimal(fill.fee, `fill ${fill.clientOrderId} fee`);
    const notional = fill.cost === undefined ? amount.times(price) : toDecimal(fill.cost, `fill ${fill.clientOrderId} cost`);
    const quote = quoteOf(fill.symbol);
    const feeInBase = fill.feeCurrency === baseOf(fill.symbol);
    const quoteFee = fill.feeCurrency === quote ? fee : new Dec(0);
    let t = open.get(fill.symbol);
    if (fill.side === 'buy') {
      t ??= { symbol: fill.symbol, held: new Dec(0), bought: new Dec(0), buyCost: new Dec(0), buyCashOut: new Dec(0), sold: new Dec(0), sellValue: new Dec(0), sellCashIn: new Dec(0), fees: new Dec(0), entryTs: fill.ts, lastTs: fill.ts, entryOrders: [], exitOrders: [] };
      open.set(fill.symbol, t);
      t.held = t.held.plus(feeInBase ? amount.minus(fee) : amount);
      t.bought = t.bought.plus(amount);
      t.buyCost = t.buyCost.plus(notional);
      t.buyCashOut = t.buyCashOut.plus(notional).plus(quoteFee);
      if (!t.entryOrders.includes(fill.clientOrderId)) t.entryOrders.push(fill.clientOrderId);
    } else {
      // A sell with nothing open belongs to no trade of ours (a position from before the record).
      if (!t) continue;
      t.held = Dec.max(0, t.held.minus(feeInBase ? amount.plus(fee) : amount));
      t.sold = t.sold.plus(amount);
      t.sellValue = t.sellValue.plus(notional);
      t.sellCashIn = t.sellCashIn.plus(notional).minus(quoteFee);
      if (!t.exitOrders.includes(fill.clientOrderId)) t.exitOrders.push(fill.clientOrderId);
    }
    t.fees = t.fees.plus(feeInBase ? fee.times(price) : quoteFee);
    t.lastTs = fill.ts;
    if (t.held.isZero()) {
      trades.push(finish(t, contextOf, 'closed'));
      open.delete(fill.symbol);
    }
  }
  for (const t of open.values()) {
    const mark = marks[t.symbol];
    trades.push(finish(t, contextOf, 'open', mark === undefined ? undefined : toDecimal(mark, `mark of ${t.symbol}`)));
  }
  return trades.sort((a, b) => a.entryTs - b.entryTs || a.symbol.localeCompare(b.symbol));
}

function finish(t: Building, contextOf: (id: string) => OrderContext | undefined, status: 'closed' | 'open', mark?: Decimal): Trade {
  const entry = contextOf(t.entryOrders[0]!);
  const lastExit = t.exitOrders.length > 0 ? contextOf(t.exitOrders[t.exitOrders.length - 1]!) : undefined;
  const heldValue = status === 'open' && mark ? t.held.times(mark) : new Dec(0);
  const pnl = t.sellCashIn.plus(heldValue).minus(t.buyCashOut);
  const invested = t.buyCashOut;
  const returnPct = invested.isZero() ? 0 : pnl.div(invested).toNumber();
  const exitPrice = status === 'closed' ? (t.sold.isZero() ? null : t.sellValue.div(t.sold)) : mark ?? null;
  return {
    id: t.entryOrders[0]!,
    symbol: t.symbol,
    side: 'long',
    quote: quoteOf(t.symbol),
    quantity: toPlain(t.bought),
    entryTs: t.entryTs,
    entryPrice: toPlain(t.buyCost.div(t.bought).toDecimalPlaces(12)),
    exitTs: status === 'closed' ? t.lastTs : null,
    exitPrice: exitPrice === null ? null : toPlain(exitPrice.toDecimalPlaces(12)),
    fees: toPlain(t.fees),
    pnl: toPlain(pnl),
    returnPct: Number.isFinite(returnPct) ? returnPct : 0,
    status,
    exitReason: status === 'closed' ? (lastExit ? (lastExit.purpose === 'exit' ? (lastExit.exitKind ?? 'exit') : 'consensus') : 'unknown') : null,
    exitDetail: status === 'closed' ? (lastExit?.reason ?? null) : null,
    entryReason: entry?.reason ?? null,
    voters: sharesOf(entry?.voters ?? []),
    entryOrders: t.entryOrders,
    exitOrders: t.exitOrders,
  };
}

/** Voters' weights as shares of their total (equal shares if every weight is zero). */
function sharesOf(voters: ReadonlyArray<{ instanceId: string; weight: number }>): Trade['voters'] {
  const valid = voters.filter((v) => Number.isFinite(v.weight) && v.weight >= 0);
  const total = valid.reduce((s, v) => s + v.weight, 0);
  return valid.map((v) => ({ instanceId: v.instanceId, share: total > 0 ? v.weight / total : 1 / valid.length }));
}
