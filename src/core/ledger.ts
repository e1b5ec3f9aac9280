import { Decimal } from 'decimal.js';
import { quoteOf, type MarketRules } from './market.ts';
import type { Fill } from './order.ts';
import { Dec, toPlain, tryDecimal } from './precision.ts';

/**
 * One spot position. `costBasis` is what the open amount cost in the quote currency, buy fees
 * included; tracking it (rather than only an average price) keeps realised P&L of a round trip
 * exactly proceeds − cost − fees. `avgPrice` is the weighted average fill price, for display.
 * `realizedPnl` and `fees` are lifetime totals for the symbol, in the quote currency.
 */
export interface Position {
  symbol: string;
  amount: string;
  avgPrice: string;
  costBasis: string;
  realizedPnl: string;
  fees: string;
}

export interface AccountState {
  /** Free balance per currency. */
  cash: Record<string, string>;
  positions: Record<string, Position>;
  /** Lifetime realised P&L per quote currency. */
  realizedPnl: Record<string, string>;
  /** Lifetime fees per currency they were charged in. */
  feesPaid: Record<string, string>;
}

export type LedgerErrorCode = 'invalid-input' | 'wrong-market' | 'insufficient-cash' | 'insufficient-position' | 'missing-mark';

/** A fill or query the ledger refuses: the paper account cannot overdraw, and bad numbers never get in. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Shares of a cost basis are not always finite decimals (1/3 of it); this bounds their digits. */
const SHARE_DECIMALS = 18;

function parse(value: unknown, what: string, opts: { positive?: boolean } = {}): Decimal {
  const d = tryDecimal(value);
  if (d === undefined || d.isNegative() || (opts.positive && d.isZero())) {
    throw new LedgerError('invalid-input', `${what} must be a ${opts.positive ? 'positive' : 'non-negative'} finite decimal, got ${JSON.stringify(value)}`);
  }
  return d;
}

function get(record: Record<string, string>, key: string): Decimal {
  const v = record[key];
  return v === undefined ? new Dec(0) : parse(v, key);
}

function emptyPosition(symbol: string): Position {
  return { symbol, amount: '0', avgPrice: '0', costBasis: '0', realizedPnl: '0', fees: '0' };
}

export function initialAccount(balances: Record<string, string>): AccountState {
  const cash: Record<string, string> = {};
  for (const [currency, amount] of Object.entries(balances)) cash[currency] = toPlain(parse(amount, `balance of ${currency}`));
  return { cash, positions: {}, realizedPnl: {}, feesPaid: {} };
}

/**
 * The state after `fill`, as a new object (the input is not touched). A buy debits cost (and a
 * quote fee) from cash; a sell credits proceeds minus fee and realises P&L against the share
 * of the cost basis sold. A fee in the base currency reduces the units received (buy) or adds
 * to the units given (sell); a fee in a third currency (e.g. BNB) is debited from that balance
 * and, having no price here, stays out of P&L. Throws LedgerError rather than go negative.
 */
export function applyFill(state: AccountState, fill: Fill, rules: MarketRules): AccountState {
  if (fill.symbol !== rules.symbol) {
    throw new LedgerError('wrong-market', `fill ${fill.clientOrderId} is for ${fill.symbol} but the rules are for ${rules.symbol}`);
  }
  if (fill.side !== 'buy' && fill.side !== 'sell') throw new LedgerError('invalid-input', `fill side must be buy or sell, got ${String(fill.side)}`);
  const amount = parse(fill.amount, 'fill amount', { positive: true });
  const price = parse(fill.price, 'fill price', { positive: true });
  const fee = parse(fill.fee, 'fill fee');
  const { base, quote, symbol } = rules;
  const feeIn = fill.feeCurrency === quote ? 'quote' : fill.feeCurrency === base ? 'base' : 'other';

  const pos = state.positions[symbol] ?? emptyPosition(symbol);
  const held = parse(pos.amount, `${symbol} position amount`);
  const basis = parse(pos.costBasis, `${symbol} cost basis`);
  // A real venue settles the quote amount it reports (rounded to its own precision); paper fills have none and settle amount × price.
  const notional = fill.cost === undefined ? amount.times(price) : parse(fill.cost, 'fill cost', { positive: true });
  const feeInQuote = feeIn === 'quote' ? fee : feeIn === 'base' ? fee.times(price) : new Dec(0);

  const cash = { ...state.cash };
  let cashQuote = get(cash, quote);
  let newHeld: Decimal;
  let newBasis: Decimal;
  let newAvg = parse(pos.avgPrice, `${symbol} average price`);
  let realised = new Dec(0);

  if (fill.side === 'buy') {
    cashQuote = cashQuote.minus(notional).minus(feeIn === 'quote' ? fee : 0);
    if (cashQuote.isNegative()) {
      throw new LedgerError('insufficient-cash', `buy ${fill.clientOrderId} needs ${toPlain(notional.plus(feeIn === 'quote' ? fee : 0))} ${quote} but only ${toPlain(get(state.cash, quote))} is free`);
    }
    const received = feeIn === 'base' ? amount.minus(fee) : amount;
    if (!received.isPositive() || received.isZero()) {
      throw new LedgerError('invalid-input', `buy ${fill.clientOrderId}: fee ${fill.fee} ${base} leaves nothing of ${fill.amount}`);
    }
    newHeld = held.plus(received);
    newBasis = basis.plus(notional).plus(feeIn === 'quote' ? fee : 0);
    newAvg = held.times(newAvg).plus(received.times(price)).div(newHeld).toDecimalPlaces(SHARE_DECIMALS, Decimal.ROUND_HALF_EVEN);
  } else {
    const given = feeIn === 'base' ? amount.plus(fee) : amount;
    if (given.gt(held)) {
      throw new LedgerError('insufficient-position', `sell ${fill.clientOrderId} of ${toPlain(given)} ${base} exceeds the ${toPlain(held)} held in ${symbol}`);
    }
    const proceeds = notional.minus(feeIn === 'quote' ? fee : 0);
    cashQuote = cashQuote.plus(proceeds);
    if (cashQuote.isNegative()) {
      throw new LedgerError('insufficient-cash', `sell ${fill.clientOrderId}: fee ${fill.fee} ${quote} exceeds proceeds and free cash`);
    }
    newHeld = held.minus(given);
    // Selling everything takes the whole basis, so the sum of shares is exactly the basis.
    const share = newHeld.isZero()
      ? basis
      : Dec.min(basis.times(given).div(held).toDecimalPlaces(SHARE_DECIMALS, Decimal.ROUND_HALF_EVEN), basis);
    newBasis = basis.minus(share);
    realised = proceeds.minus(share);
    if (newHeld.isZero()) newAvg = new Dec(0);
  }
  cash[quote] = toPlain(cashQuote);

  if (feeIn === 'other') {
    const left = get(state.cash, fill.feeCurrency).minus(fee);
    if (left.isNegative()) {
      throw new LedgerError('insufficient-cash', `fill ${fill.clientOrderId}: fee ${fill.fee} ${fill.feeCurrency} exceeds the free ${fill.feeCurrency}`);
    }
    cash[fill.feeCurrency] = toPlain(left);
  }

  const position: Position = {
    symbol,
    amount: toPlain(newHeld),
    avgPrice: toPlain(newAvg),
    costBasis: toPlain(newBasis),
    realizedPnl: toPlain(parse0(pos.realizedPnl).plus(realised)),
    fees: toPlain(parse(pos.fees, `${symbol} fees`).plus(feeInQuote)),
  };
  return {
    cash,
    positions: { ...state.positions, [symbol]: position },
    realizedPnl: { ...state.realizedPnl, [quote]: toPlain(parse0(state.realizedPnl[quote] ?? '0').plus(realised)) },
    feesPaid: { ...state.feesPaid, [fill.feeCurrency]: toPlain(get(state.feesPaid, fill.feeCurrency).plus(fee)) },
  };
}

/** P&L may be negative, unlike every other ledger number. */
function parse0(value: string): Decimal {
  const d = tryDecimal(value);
  if (d === undefined) throw new LedgerError('invalid-input', `P&L must be a finite decimal, got ${JSON.stringify(value)}`);
  return d;
}

function markFor(marks: Record<string, string>, symbol: string): Decimal {
  const raw = marks[symbol];
  if (raw === undefined) throw new LedgerError('missing-mark', `no mark price for ${symbol}, which has an open position`);
  return parse(raw, `mark price of ${symbol}`, { positive: true });
}

function openPositionsIn(state: AccountState, quote: string): Position[] {
  return Object.values(state.positions).filter((p) => quoteOf(p.symbol) === quote && !parse(p.amount, `${p.symbol} amount`).isZero());
}

/** Free `quote` cash plus every open position quoted in `quote` at its mark; exact. */
export function equity(state: AccountState, quote: string, marks: Record<string, string>): string {
  let total = get(state.cash, quote);
  for (const p of openPositionsIn(state, quote)) total = total.plus(new Dec(p.amount).times(markFor(marks, p.symbol)));
  return toPlain(total);
}

/** Σ (amount × mark − cost basis) over open positions quoted in `quote`; buy fees count as cost. */
export function unrealizedPnl(state: AccountState, quote: string, marks: Record<string, string>): string {
  let total = new Dec(0);
  for (const p of openPositionsIn(state, quote)) {
    total = total.plus(new Dec(p.amount).times(markFor(marks, p.symbol)).minus(parse(p.costBasis, `${p.symbol} cost basis`)));
  }
  return toPlain(total);
}
