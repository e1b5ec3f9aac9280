import { mean, sampleStandardDeviation } from 'simple-statistics';
import type { Fill } from './order.ts';
import { roundTrips, type OrderContext, type Trade } from './roundTrips.ts';
import { Dec, toDecimal, toPlain } from './precision.ts';

/**
 * Performance metrics of one account currency, from its equity curve and its trades. Pure, and
 * written out here rather than taken from a library: the conventions (per-candle returns,
 * annualisation by the candle length, drawdown duration to recovery, null where a ratio is
 * undefined) are what the report promises, and a test recomputes every figure independently.
 * Ratios are numbers, money is decimal strings; nothing is ever NaN or Infinity (null instead).
 */

export const YEAR_MS = 365 * 86_400_000;

/** The metrics a parameter sweep can rank by (higher is better for each). */
export const OBJECTIVES = ['sharpe', 'sortino', 'calmar', 'totalReturn', 'annualizedReturn', 'profitFactor', 'expectancy', 'winRate'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export interface EquityPoint {
  ts: number;
  /** Equity in the account currency: cash plus positions at their marks. */
  equity: number;
}

export interface DrawdownStats {
  /** Largest fall from a running peak, as a fraction of that peak (0.1 = 10 %). */
  depth: number;
  peakTs: number | null;
  troughTs: number | null;
  /** Longest time spent below a previous peak, ms (to recovery, or to the end if never recovered). */
  durationMs: number;
}

export interface PerformanceMetrics {
  currency: string;
  from: number | null;
  to: number | null;
  startEquity: number | null;
  endEquity: number | null;
  totalReturn: number | null;
  /** Compound annual growth rate; null when the span is too short for the figure to be finite. */
  annualizedReturn: number | null;
  /** Mean over standard deviation of per-period returns, × √(periods per year); risk-free rate 0. */
  sharpe: number | null;
  /** Mean over downside deviation (root mean square of the negative returns), × √(periods per year). */
  sortino: number | null;
  /** Annualised return over maximum drawdown depth. */
  calmar: number | null;
  maxDrawdown: DrawdownStats;
  trades: number;
  closedTrades: number;
  wins: number;
  losses: number;
  winRate: number | null;
  /** Gross profit over gross loss of closed trades; null without a losing trade. */
  profitFactor: number | null;
  /** Mean P&L of a closed trade, in the currency. */
  expectancy: string | null;
  averageWin: string | null;
  averageLoss: string | null;
  /** Share of [from, to] with a position open. */
  exposureTime: number | null;
  feesPaid: string;
  /** Realised P&L of closed trades. */
  realizedPnl: string;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Per-period simple returns of consecutive points (a point at or below zero ends the series: no return is defined after ruin). */
export function periodReturns(curve: readonly EquityPoint[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < curve.length; i++) {
    const prev = curve[i - 1]!.equity;
    if (!(prev > 0)) break;
    out.push(curve[i]!.equity / prev - 1);
  }
  return out;
}

export function maxDrawdown(curve: readonly EquityPoint[]): DrawdownStats {
  let peak = -Infinity;
  let peakTs: number | null = null;
  let worst: DrawdownStats = { depth: 0, peakTs: null, troughTs: null, durationMs: 0 };
  let underSince: number | null = null;
  let longest = 0;
  for (const p of curve) {
    if (p.equity >= peak) {
      if (underSince !== null) longest = Math.max(longest, p.ts - underSince);
      underSince = null;
      peak = p.equity;
      peakTs = p.ts;
      continue;
    }
    underSince ??= peakTs;
    const depth = peak > 0 ? (peak - p.equity) / peak : 0;
    if (depth > worst.depth) worst = { depth, peakTs, troughTs: p.ts, durationMs: 0 };
  }
  const last = curve[curve.length - 1];
  if (underSince !== null && last) longest = Math.max(longest, last.ts - underSince);
  return { ...worst, durationMs: longest };
}

/** Share of [from, to] covered by at least one trade being open (overlaps counted once). */
export function exposureShare(trades: readonly Trade[], from: number, to: number): number | null {
  if (!(to > from)) return null;
  const spans = trades
    .map((t) => [Math.max(from, t.entryTs), Math.min(to, t.exitTs ?? to)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    covered += b - Math.max(a, end);
    end = b;
  }
  return covered / (to - from);
}

/**
 * Every metric of one currency. `periodMs` is the spacing of the equity curve (the candle
 * length) used to annualise; `trades` are that currency's round trips.
 */
export function computeMetrics(currency: string, curve: readonly EquityPoint[], trades: readonly Trade[], periodMs: number): PerformanceMetrics {
  const first = curve[0];
  const last = curve[curve.length - 1];
  const returns = periodReturns(curve);
  const perYear = periodMs > 0 ? YEAR_MS / periodMs : NaN;

  const totalReturn = first && last && first.equity > 0 ? last.equity / first.equity - 1 : null;
  const span = first && last ? last.ts - first.ts : 0;
  const annualizedReturn = totalReturn !== null && span > 0 && totalReturn > -1 ? finite((1 + totalReturn) ** (YEAR_MS / span) - 1) : totalReturn === -1 ? -1 : null;

  let sharpe: number | null = null;
  let sortino: number | null = null;
  if (returns.length >= 2) {
    const m = mean(returns);
    const sd = sampleStandardDeviation(returns);
    sharpe = sd > 0 ? finite((m / sd) * Math.sqrt(perYear)) : null;
    const downside = Math.sqrt(returns.reduce((s, r) => s + Math.min(r, 0) ** 2, 0) / returns.length);
    sortino = downside > 0 ? finite((m / downside) * Math.sqrt(perYear)) : null;
  }
  const dd = maxDrawdown(curve);
  const calmar = annualizedReturn !== null && dd.depth > 0 ? finite(annualizedReturn / dd.depth) : null;

  const closed = trades.filter((t) => t.status === 'closed');
  const pnls = closed.map((t) => toDecimal(t.pnl, `trade ${t.id} pnl`));
  const winners = pnls.filter((p) => p.gt(0));
  const losers = pnls.filter((p) => p.lt(0));
  const sum = (xs: readonly InstanceType<typeof Dec>[]) => xs.reduce((a, b) => a.plus(b), new Dec(0));
  const grossProfit = sum(winners);
  const grossLoss = sum(losers).abs();
  const avg = (xs: readonly InstanceType<typeof Dec>[]) => (xs.length > 0 ? toPlain(sum(xs).div(xs.length).toDecimalPlaces(12)) : null);

  return {
    currency,
    from: first?.ts ?? null,
    to: last?.ts ?? null,
    startEquity: first?.equity ?? null,
    endEquity: last?.equity ?? null,
    totalReturn: totalReturn === null ? null : finite(totalReturn),
    annualizedReturn,
    sharpe,
    sortino,
    calmar,
    maxDrawdown: dd,
    trades: trades.length,
    closedTrades: closed.length,
    wins: winners.length,
    losses: losers.length,
    winRate: closed.length > 0 ? winners.length / closed.length : null,
    profitFactor: grossLoss.gt(0) ? finite(grossProfit.div(grossLoss).toNumber()) : null,
    expectancy: avg(pnls),
    averageWin: avg(winners),
    averageLoss: avg(losers),
    exposureTime: first && last ? exposureShare(trades, first.ts, last.ts) : null,
    feesPaid: toPlain(sum(trades.map((t) => toDecimal(t.fees, `trade ${t.id} fees`)))),
    realizedPnl: toPlain(sum(pnls)),
  };
}

/** Per-instance figures: how it voted, how often it was right, and its share of the P&L. */
export interface InstanceAttribution {
  instanceId: string;
  /** Buy and sell votes cast (holds and abstentions are not votes). */
  votes: number;
  buys: number;
  sells: number;
  /** Votes scored against the market's move `horizon` candles later. */
  scored: number;
  /** Share of scored votes that were right (a buy before a rise, a sell before a fall). */
  hitRate: number | null;
  /** Trades it voted into. */
  trades: number;
  /** Its share of those trades' P&L (each split among the entry's voters by weight × confidence), per currency. */
  pnl: Record<string, string>;
}

/** Adds each trade's P&L to its voters by their share. */
export function pnlContributions(trades: readonly Trade[]): Map<string, { trades: number; pnl: Record<string, string> }> {
  const out = new Map<string, { trades: number; pnl: Record<string, InstanceType<typeof Dec>> }>();
  for (const t of trades) {
    const pnl = toDecimal(t.pnl, `trade ${t.id} pnl`);
    for (const v of t.voters) {
      const entry = out.get(v.instanceId) ?? { trades: 0, pnl: {} };
      entry.trades += 1;
      entry.pnl[t.quote] = (entry.pnl[t.quote] ?? new Dec(0)).plus(pnl.times(v.share));
      out.set(v.instanceId, entry);
    }
  }
  return new Map([...out].map(([id, e]) => [id, { trades: e.trades, pnl: Object.fromEntries(Object.entries(e.pnl).map(([q, d]) => [q, toPlain(d.toDecimalPlaces(12))])) }]));
}

/** Per-market figures of the trades. */
export interface MarketBreakdown {
  symbol: string;
  quote: string;
  trades: number;
  closedTrades: number;
  wins: number;
  winRate: number | null;
  pnl: string;
  fees: string;
  exposureTime: number | null;
}

export function marketBreakdown(trades: readonly Trade[], from: number | null, to: number | null): MarketBreakdown[] {
  const bySymbol = new Map<string, Trade[]>();
  for (const t of trades) bySymbol.set(t.symbol, [...(bySymbol.get(t.symbol) ?? []), t]);
  return [...bySymbol].sort(([a], [b]) => a.localeCompare(b)).map(([symbol, ts]) => {
    const closed = ts.filter((t) => t.status === 'closed');
    const wins = closed.filter((t) => toDecimal(t.pnl).gt(0)).length;
    return {
      symbol,
      quote: ts[0]!.quote,
      trades: ts.length,
      closedTrades: closed.length,
      wins,
      winRate: closed.length > 0 ? wins / closed.length : null,
      pnl: toPlain(ts.reduce((s, t) => s.plus(toDecimal(t.pnl)), new Dec(0))),
      fees: toPlain(ts.reduce((s, t) => s.plus(toDecimal(t.fees)), new Dec(0))),
      exposureTime: from !== null && to !== null ? exposureShare(ts, from, to) : null,
    };
  });
}

/** What the backtest report and the live pipeline (`GET /api/performance`) both serve. */
export interface PerformanceReport {
  generatedAt: number;
  /** One entry per account currency (quote currency): metrics are never mixed across currencies. */
  metrics: PerformanceMetrics[];
  instances: InstanceAttribution[];
  markets: MarketBreakdown[];
  /** Equity curve per currency (live: sampled at each decision candle, capped). */
  equity: Record<string, EquityPoint[]>;
  /** Round trips, oldest first (live: the most recent ones). */
  trades: Trade[];
}

/** What performance needs of a decision (structurally the coordinator's Decision). */
export interface DecisionForPerformance {
  candleTs: number;
  votes: ReadonlyArray<{ instanceId: string; role: string; action: string; effectiveWeight: number; confidence: number }>;
  exit: { kind: string; reason: string } | null;
  risk: { reason: string };
  order: { clientOrderId: string; side: 'buy' | 'sell'; purpose: 'consensus' | 'exit' } | null;
}

/** Per-instance counters of voting: directional votes cast, and how many the market proved right. */
export interface InstanceCounters {
  buys: number;
  sells: number;
  scored: number;
  hits: number;
}

/** The counters a decision's directional votes add to (holds, vetoes and regime labels are not votes). */
export function voteCounts(d: Pick<DecisionForPerformance, 'votes'>): Array<[instanceId: string, counter: 'buys' | 'sells']> {
  const out: Array<[string, 'buys' | 'sells']> = [];
  visitVoteCounts(d.votes, (id, counter) => out.push([id, counter]));
  return out;
}

/** voteCounts, told one by one (the backtest counts every vote of every candle: no array of pairs). */
export function visitVoteCounts(votes: DecisionForPerformance['votes'], visit: (instanceId: string, counter: 'buys' | 'sells') => void): void {
  for (const v of votes) if (v.role === 'vote' && v.action !== 'hold') visit(v.instanceId, v.action === 'buy' ? 'buys' : 'sells');
}

/** The counters an earlier decision's votes add to once scored against the market's move since (`change`). */
export function scoreCounts(votes: DecisionForPerformance['votes'], change: number): Array<[instanceId: string, counter: 'scored' | 'hits']> {
  const out: Array<[string, 'scored' | 'hits']> = [];
  visitScoreCounts(votes, change, (id, counter) => out.push([id, counter]));
  return out;
}

/** scoreCounts, told one by one. */
export function visitScoreCounts(votes: ReadonlyArray<{ instanceId: string; role: string; action: string }>, change: number, visit: (instanceId: string, counter: 'scored' | 'hits') => void): void {
  if (!Number.isFinite(change)) return;
  for (const v of votes) {
    if (v.role !== 'vote' || v.action === 'hold') continue;
    visit(v.instanceId, 'scored');
    if ((v.action === 'buy' ? change : -change) > 0) visit(v.instanceId, 'hits');
  }
}

/** An order's reason and the instances that voted for its side (weight × confidence each). */
export function orderContextOf(d: DecisionForPerformance): OrderContext {
  const side = d.order!.side;
  return {
    purpose: d.order!.purpose,
    reason: d.risk.reason,
    exitKind: d.exit?.kind,
    voters: d.votes.filter((v) => v.role === 'vote' && v.action === side).map((v) => ({ instanceId: v.instanceId, weight: v.effectiveWeight * v.confidence })),
  };
}

export interface PerformanceInput {
  generatedAt: number;
  fills: readonly Fill[];
  contexts: ReadonlyMap<string, OrderContext>;
  /** Marks that value trades still open (last close per market). */
  marks: Readonly<Record<string, string>>;
  equity: Readonly<Record<string, EquityPoint[]>>;
  counters: ReadonlyMap<string, InstanceCounters>;
  /** Instances to list even if they never voted. */
  instanceIds?: readonly string[];
  /** The candle period: returns are per candle, annualised by it. */
  periodMs: number;
}

/** The whole report from what the pipeline or the backtester recorded: one function, so both agree. */
export function buildPerformanceReport(input: PerformanceInput): PerformanceReport {
  const trades = roundTrips(input.fills, (id) => input.contexts.get(id), input.marks);
  const quotes = [...new Set([...Object.keys(input.equity), ...trades.map((t) => t.quote)])].sort();
  const metrics = quotes.map((q) => computeMetrics(q, input.equity[q] ?? [], trades.filter((t) => t.quote === q), input.periodMs));
  const contributions = pnlContributions(trades);
  const ids = [...new Set([...(input.instanceIds ?? []), ...input.counters.keys(), ...contributions.keys()])].sort();
  const instances: InstanceAttribution[] = ids.map((instanceId) => {
    const c = input.counters.get(instanceId) ?? { buys: 0, sells: 0, scored: 0, hits: 0 };
    const p = contributions.get(instanceId);
    return { instanceId, votes: c.buys + c.sells, buys: c.buys, sells: c.sells, scored: c.scored, hitRate: c.scored > 0 ? c.hits / c.scored : null, trades: p?.trades ?? 0, pnl: p?.pnl ?? {} };
  });
  const spans = Object.values(input.equity).filter((c) => c.length > 0);
  const from = spans.length > 0 ? Math.min(...spans.map((c) => c[0]!.ts)) : null;
  const to = spans.length > 0 ? Math.max(...spans.map((c) => c[c.length - 1]!.ts)) : null;
  return { generatedAt: input.generatedAt, metrics, instances, markets: marketBreakdown(trades, from, to), equity: { ...input.equity }, trades };
}
