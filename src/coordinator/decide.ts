import { Decimal } from 'decimal.js';
import type { CandleWindow } from '../core/candle.ts';
import { equity as equityOf, type AccountState } from '../core/ledger.ts';
import { baseOf, quoteOf, type MarketRules } from '../core/market.ts';
import { clientOrderIdFor, type OrderIntent, type UnsettledIntent } from '../core/order.ts';
import { roundPrice, toPlain } from '../core/precision.ts';
import { evaluateEntry, evaluateReduction, type RiskLimits, type RiskOutcome } from '../risk/engine.ts';
import { checkExit, watchPosition, type ExitRules, type ExitSignal, type PositionWatch } from '../risk/exits.ts';
import { holdingsIn, seriesOf } from '../risk/portfolio.ts';
import { averageTrueRange, type CloseSeries } from '../risk/returns.ts';
import type { TradingState } from '../risk/tradingState.ts';
import type { Consensus } from './aggregate.ts';
import type { Decision, DecisionOrder, DecisionRisk } from './decision.ts';
import { ensembleEdge, type TrackRecord } from './trackRecord.ts';

/**
 * The part of a decision that may trade, pure and synchronous: `(input, settings) => outcome`.
 * The pipeline's coordinator (reading Redis under the account lock) and the backtester (reading
 * memory) both build the input and apply the outcome; the rules in between are this one function,
 * so a replay and a backtest of the same candles decide the same.
 */

export interface DecideSettings {
  account: string;
  limits: RiskLimits;
  exits: ExitRules;
  atrPeriod: number;
  /** How long a limit order may rest, ms. */
  limitOrderMs: number;
  execution: { slippageBps: number; feeRate?: string | undefined };
  /** Every market's rules (fees of unsettled orders in other markets are counted). */
  markets: Readonly<Record<string, MarketRules>>;
}

/** Losses the losses gate counts: the run of stop-outs. */
export interface LossRecord {
  consecutiveStopOuts: number;
  lastStopOutAt: number | null;
}

export interface DecideInput {
  symbol: string;
  timeframe: string;
  candleTs: number;
  close: number;
  consensus: Consensus;
  records: ReadonlyMap<string, TrackRecord>;
  account: AccountState;
  /** Orders decided earlier and not settled yet (queued for execution or resting at the venue). */
  unsettled: readonly UnsettledIntent[];
  /** This market's last candles up to the decision candle (the ATR and correlation lookback). */
  window: CandleWindow;
  /** The same lookback of every other market in this quote currency that is held or being bought. */
  otherWindows: Readonly<Record<string, CandleWindow>>;
  /** Marks of the held positions in this quote currency at the decision candle, or why one is missing. */
  marks: Readonly<Record<string, string>> | string;
  watch: PositionWatch | undefined;
  tradingState: TradingState;
  losses: LossRecord;
  /** The equity peak of this quote currency so far, and its first reading of this candle's UTC day. */
  peak: number | undefined;
  dayStart: number | undefined;
}

/** What the decision changes: the decision's fields, and what the caller must store. */
export interface DecideOutcome {
  action: Decision['action'];
  exit: ExitSignal | null;
  risk: DecisionRisk;
  order: DecisionOrder | null;
  /** This market's share of equity now (0 when not held). */
  inventory: number;
  /** The position monitor's memory after this candle (undefined: not held, forget it). */
  watch: PosWatchUpdate;
  /** The equity reading to store (peak and day start), if equity was valued. */
  equity?: { quote: string; value: number; day: string; peak: number; dayStart: number } | undefined;
  /** The order to reserve as pending, if one was decided. */
  pending?: UnsettledIntent | undefined;
  /** The gate that denied, for the denials counter. */
  deniedBy?: string | undefined;
}

type PosWatchUpdate = PositionWatch | undefined;

/** The lookback every risk window needs: enough for the ATR and the correlation. */
export function riskLookback(atrPeriod: number, correlationLookback: number): number {
  return Math.max(atrPeriod, correlationLookback) + 1;
}

/** The UTC day of a candle, which the daily loss limit counts by (a replay follows candle time, not the wall clock). */
export function utcDay(ts: number): string {
  // Most calls ask for the same day as the last one: formatting a Date each time was a visible
  // part of a backtest's decision time.
  const day = Math.floor(ts / 86_400_000);
  if (day !== lastDay.index) lastDay = { index: day, text: new Date(ts).toISOString().slice(0, 10) };
  return lastDay.text;
}
let lastDay = { index: NaN, text: '' };

/** Markets whose lookback the decision needs besides its own: held or being bought, in the same quote currency. */
export function marketsToWatch(symbol: string, account: AccountState, unsettled: readonly UnsettledIntent[]): string[] {
  const quote = quoteOf(symbol);
  const out = new Set<string>();
  for (const [s, p] of Object.entries(account.positions)) if (s !== symbol && quoteOf(s) === quote && !new Decimal(p.amount).isZero()) out.add(s);
  for (const u of unsettled) if (u.intent.side === 'buy' && u.intent.symbol !== symbol && quoteOf(u.intent.symbol) === quote) out.add(u.intent.symbol);
  return [...out].sort();
}

/** Marks of held positions in `quote` from each market's latest close at the decision; a string says which is missing. */
export function marksFrom(account: AccountState, quote: string, closeOf: (symbol: string) => number | undefined, ts: number): Record<string, string> | string {
  const marks: Record<string, string> = {};
  for (const [symbol, position] of Object.entries(account.positions)) {
    if (quoteOf(symbol) !== quote || new Decimal(position.amount).isZero()) continue;
    const close = closeOf(symbol);
    if (close === undefined) return `no price to value the ${baseOf(symbol)} position at ${ts}`;
    marks[symbol] = String(close);
  }
  return marks;
}

/**
 * Decides what to do with one market on one candle, given the consensus and the account as it is
 * now: the position monitor may exit, a pending order blocks anything new, a sell consensus
 * reduces to flat, a buy consensus passes the risk engine's gates and is sized.
 */
export function decide(input: DecideInput, settings: DecideSettings): DecideOutcome {
  const { symbol, consensus, account } = input;
  const rules = settings.markets[symbol];
  const w = input.window;
  const atr = averageTrueRange(w.high, w.low, w.close, settings.atrPeriod);
  const position = account.positions[symbol];
  const amount = position?.amount ?? '0';
  const holding = new Decimal(amount).gt(0);

  // The position monitor: remember the position's high-water mark, and exit on a broken rule.
  let exit: ExitSignal | null = null;
  let watch: PositionWatch | undefined;
  if (holding) {
    watch = watchPosition(input.watch, Number(position!.avgPrice), input.candleTs, input.close, atr);
    exit = checkExit(watch, input.close, input.candleTs, settings.exits);
  }
  const base = { action: consensus.action, exit, order: null, watch, inventory: 0 } as const;

  const pending = input.unsettled.find((o) => o.intent.symbol === symbol);
  const quote = quoteOf(symbol);
  if (typeof input.marks === 'string') return merged(base, {}, { risk: { verdict: 'deny', gate: 'market-rules', reason: input.marks } });
  const marks = input.marks;
  const equity = equityOf(account, quote, marks);
  const equityValue = Number(equity);
  const day = utcDay(input.candleTs);
  const peak = Math.max(input.peak ?? -Infinity, equityValue);
  const dayStart = input.dayStart ?? equityValue;
  const observed = { equity: { quote, value: equityValue, day, peak, dayStart }, inventory: inventoryShare(amount, input.close, equityValue) };

  // When the bots asked for a limit price, the order rests at it (on the tick, never worse than
  // asked) and is sized at it; exits are always market orders.
  const limit = !exit && consensus.limitPrice !== null && rules ? limitFor(consensus.action === 'buy' ? 'buy' : 'sell', consensus.limitPrice, rules, settings.limitOrderMs) : undefined;
  const sizing = { symbol, rules, currentAmount: amount, price: limit ? Number(limit.price) : input.close, execution: settings.execution };
  let outcome: RiskOutcome;
  let purpose: 'consensus' | 'exit' = 'consensus';
  if (pending) {
    // Sizing against a position that is about to change would double the order.
    return merged(base, observed, { risk: { verdict: 'none', reason: `order ${pending.intent.clientOrderId} for ${symbol} is still pending`, equity } });
  } else if (exit) {
    outcome = evaluateReduction(sizing);
    purpose = 'exit';
  } else if (consensus.action === 'sell' && holding) {
    outcome = evaluateReduction(sizing);
  } else if (consensus.action === 'buy') {
    const holdings = holdingsIn(quote, account, marks, input.unsettled);
    const closes: Record<string, CloseSeries> = { [symbol]: seriesOf(w) };
    for (const h of holdings) {
      if (!(h.symbol in closes)) closes[h.symbol] = seriesOf(input.otherWindows[h.symbol] ?? { length: 0, ts: [], close: [] });
    }
    const buyers = consensus.counted.filter((v) => v.action === 'buy');
    outcome = evaluateEntry(
      Object.assign({}, sizing, {
        now: input.candleTs,
        tradingState: input.tradingState,
        equity: equityValue,
        peakEquity: peak,
        dayStartEquity: dayStart,
        holdings,
        freeCash: freeCash(settings, account.cash[quote] ?? '0', quote, input.unsettled),
        edge: ensembleEdge(buyers.map((v) => ({ weight: v.effectiveWeight, confidence: v.confidence, record: input.records.get(v.instanceId) }))),
        atr,
        closes,
        losses: input.losses,
      }),
      settings.limits,
    );
  } else {
    return merged(base, observed, { risk: { verdict: 'none', reason: consensus.action === 'sell' ? `${consensus.reason}; nothing held to sell` : consensus.reason, equity } });
  }

  const risk: DecisionRisk = {
    verdict: outcome.verdict,
    gate: outcome.verdict === 'order' ? undefined : outcome.gate,
    reason: outcome.verdict === 'order' ? (exit?.reason ?? consensus.reason) : outcome.reason,
    trail: outcome.trail,
    figures: outcome.figures ?? null,
    equity,
    targetValue: outcome.verdict === 'order' ? outcome.targetValue : undefined,
  };
  if (outcome.verdict !== 'order') return merged(base, observed, { risk, deniedBy: outcome.verdict === 'deny' ? outcome.gate : undefined });

  const clientOrderId = clientOrderIdFor({ account: settings.account, symbol, timeframe: input.timeframe, decisionTs: input.candleTs, side: outcome.side, purpose: limit ? `limit-${purpose}` : purpose });
  const order: DecisionOrder = { clientOrderId, side: outcome.side, amount: outcome.amount, purpose, limit };
  return merged(base, observed, {
    action: exit ? 'sell' : consensus.action,
    risk,
    order,
    pending: { intent: intentOf(symbol, input.candleTs, order, risk.reason), timeframe: input.timeframe, refPrice: input.close },
  });
}

/**
 * `{ ...base, ...observed, ...rest }` by Object.assign: the same object, several times faster on
 * Node 20, whose object spread is slow (see core/copyWith.ts); a backtest decides on most candles.
 */
function merged(
  base: Pick<DecideOutcome, 'action' | 'exit' | 'order' | 'watch' | 'inventory'>,
  observed: Partial<Pick<DecideOutcome, 'equity' | 'inventory'>>,
  rest: Pick<DecideOutcome, 'risk'> & Partial<DecideOutcome>,
): DecideOutcome {
  return Object.assign({}, base, observed, rest);
}

/**
 * The share of its quote currency's equity that the holding in `symbol` is worth at `close`,
 * other holdings at their marks (their average price when a mark is missing): what an
 * inventory-aware bot sees when the market's previous decision did not record it.
 */
export function holdingShare(account: AccountState, symbol: string, close: number, marks: Readonly<Record<string, number | undefined>>): number {
  const amount = Number(account.positions[symbol]?.amount ?? 0);
  if (!(amount > 0)) return 0;
  const quote = quoteOf(symbol);
  let equity = Number(account.cash[quote] ?? 0);
  for (const [s, p] of Object.entries(account.positions)) {
    if (quoteOf(s) !== quote) continue;
    equity += Number(p.amount) * (s === symbol ? close : (marks[s] ?? Number(p.avgPrice)));
  }
  return inventoryShare(String(amount), close, equity);
}

/** The holding's value as a share of equity, in [0, 1]; 0 when either is not a sane number. */
function inventoryShare(amount: string, close: number, equity: number): number {
  const share = (Number(amount) * close) / equity;
  return Number.isFinite(share) && equity > 0 ? Math.min(1, Math.max(0, share)) : 0;
}

/** Cash not promised to unsettled buys in the same quote currency (each at its sizing price, with slippage and fee). */
export function freeCash(settings: Pick<DecideSettings, 'execution' | 'markets'>, cash: string, quote: string, unsettled: readonly UnsettledIntent[]): string {
  let free = new Decimal(cash);
  for (const p of unsettled) {
    if (p.intent.side !== 'buy' || quoteOf(p.intent.symbol) !== quote) continue;
    const fee = new Decimal(settings.execution.feeRate ?? settings.markets[p.intent.symbol]?.taker ?? '0');
    const price = new Decimal(p.refPrice).mul(1 + settings.execution.slippageBps / 10_000);
    free = free.minus(new Decimal(p.intent.amount).mul(price).mul(fee.plus(1)));
  }
  return Decimal.max(free, 0).toFixed();
}

/** The intent execution receives for a decided order. */
export function intentOf(symbol: string, decisionTs: number, order: DecisionOrder, reason: string): OrderIntent {
  const common = { clientOrderId: order.clientOrderId, symbol, side: order.side, amount: order.amount, decisionTs, reason: reason.slice(0, 500) };
  return order.limit ? { ...common, type: 'limit', price: order.limit.price, expiresAfterMs: order.limit.expiresAfterMs } : { ...common, type: 'market' };
}

/** A limit price on the market's tick: a buy rounded down, a sell up (never worse than asked). */
function limitFor(side: 'buy' | 'sell', price: number, rules: MarketRules, expiresAfterMs: number): { price: string; expiresAfterMs: number } | undefined {
  const rounded = roundPrice(price, rules.precision.price, side === 'buy' ? 'down' : 'up');
  return rounded.gt(0) ? { price: toPlain(rounded), expiresAfterMs } : undefined;
}
