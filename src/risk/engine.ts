import { Decimal } from 'decimal.js';
import type { MarketRules } from '../core/market.ts';
import { orderForTarget } from '../core/sizing.ts';
import { alignedReturns, correlation, type CloseSeries } from './returns.ts';
import type { TradingState } from './tradingState.ts';
import { figuresAreFinite, portfolioReturns, riskFigures, type RiskFigures, type VarOptions } from './valueAtRisk.ts';

/**
 * The risk engine: pure and synchronous, `(input) => outcome`. An entry passes through ordered
 * gates; the first that finds a reason denies, and the denial is a value carrying that reason
 * (never an exception). Gates may also narrow the size (caps, scales) for the sizing gate.
 */

/** The hard ceiling of any single position, whatever the config says: 25 % of equity. */
export const ABSOLUTE_MAX_POSITION_FRACTION = 0.25;

export const GATES = [
  'trading-state',
  'market-rules',
  'exposure',
  'open-positions',
  'correlation',
  'drawdown',
  'losses',
  'sizing',
  'value-at-risk',
] as const;
export type GateName = (typeof GATES)[number];

export interface RiskLimits {
  /** Largest position in one market, fraction of equity (also capped at 25 %). */
  maxPositionFraction: number;
  /** Largest sum of positions and pending entries in one quote currency, fraction of equity. */
  maxTotalExposure: number;
  maxOpenPositions: number;
  /** Largest return correlation with any held market for a new position. */
  maxCorrelation: number;
  /** Fewest aligned returns to judge correlation by; fewer and the pair is not judged. */
  minCorrelationSamples: number;
  /** Drawdown from the equity peak at which entries halt; size shrinks linearly on the way. */
  maxDrawdown: number;
  /** Consecutive stop-outs that start a cooldown. */
  stopOutsBeforeCooldown: number;
  /** Length of that cooldown, ms. */
  cooldownMs: number;
  /** Loss since the day's first equity reading, fraction, at which entries stop for the day. */
  dailyLossLimit: number;
  /** Share of the full Kelly fraction to bet (0.5 = half Kelly). */
  kellyFraction: number;
  /** Fewest scored observations behind the edge estimate. */
  minEdgeSamples: number;
  /** Target per-candle volatility of a position; above it the size shrinks (0 = off). */
  volatilityTarget: number;
  /** Largest one-candle historical VaR of the would-be portfolio, fraction of equity. */
  maxVar: number;
  var: VarOptions;
}

/** The ensemble's estimated edge: mean and variance of the signed forward return behind the side it chose. */
export interface EdgeEstimate {
  mean: number;
  variance: number;
  samples: number;
}

export interface Holding {
  symbol: string;
  /** Value in the quote currency (positions at their mark, pending entries at their order value). */
  value: number;
}

export interface EntryInput {
  symbol: string;
  /** Reference price: the decision candle's close. */
  price: number;
  /** Decision candle open time. */
  now: number;
  tradingState: TradingState;
  rules: MarketRules | undefined;
  /** Equity of the account in the market's quote currency; its peak; its value at the day's first reading. */
  equity: number;
  peakEquity: number;
  dayStartEquity: number;
  /** Positions and pending entries in the same quote currency, this market's included. */
  holdings: readonly Holding[];
  /** Base currency held in this market now. */
  currentAmount: string;
  /** Quote currency free for new orders (unsettled buys already taken off). */
  freeCash: string;
  edge: EdgeEstimate | null;
  /** Average true range of this market, price units; null when unknown. */
  atr: number | null;
  /** Recent closes of this market and the held ones (aligned by candle time here, pairwise or jointly). */
  closes: Readonly<Record<string, CloseSeries>>;
  losses: { consecutiveStopOuts: number; lastStopOutAt: number | null };
  execution: { slippageBps: number; feeRate?: string | undefined };
}

export interface GateNote {
  gate: GateName;
  note: string;
}

export type RiskOutcome =
  | { verdict: 'deny'; gate: GateName; reason: string; trail: GateNote[]; figures?: RiskFigures | null }
  /** Nothing to do that the gates object to (already at target, below the market minimum, no edge). */
  | { verdict: 'none'; gate: GateName; reason: string; trail: GateNote[]; figures?: RiskFigures | null }
  | { verdict: 'order'; side: 'buy' | 'sell'; amount: string; targetValue: string; trail: GateNote[]; figures: RiskFigures | null };

interface Working {
  /** Largest target value of this market the gates so far allow, quote currency. */
  cap: number;
  /** Product of the size scales so far, in [0, 1]. */
  scale: number;
  trail: GateNote[];
  targetValue?: number;
  /** Risk figures of the would-be portfolio, once the VaR gate computed them. */
  figures: RiskFigures | null;
}

type GateResult = { deny: string } | { none: string } | { note: string; cap?: number; scale?: number; target?: number };
type Gate = (input: EntryInput, w: Working) => GateResult;

const fmt = (x: number, digits = 4) => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : String(x));
const pct = (x: number) => `${fmt(x * 100, 3)}%`;
const finite = (...xs: number[]) => xs.every(Number.isFinite);

const held = (input: EntryInput, symbol: string) => input.holdings.filter((h) => h.symbol === symbol).reduce((s, h) => s + h.value, 0);

const tradingStateGate: Gate = (input) => {
  if (input.tradingState === 'HALTED') return { deny: 'trading is HALTED: no new entries' };
  if (input.tradingState === 'REDUCING') return { deny: 'trading is REDUCING: only orders that reduce risk are allowed' };
  return { note: 'ACTIVE' };
};

const marketRulesGate: Gate = (input, w) => {
  const r = input.rules;
  if (!r) return { deny: `no market rules for ${input.symbol}` };
  if (!(input.price > 0) || !Number.isFinite(input.price)) return { deny: `reference price ${input.price} is not a positive finite number` };
  const minCost = Math.max(Number(r.limits.cost.min) || 0, (Number(r.limits.amount.min) || 0) * input.price);
  if (!Number.isFinite(minCost)) return { deny: `market minimums of ${input.symbol} are not numbers` };
  if (minCost > w.cap) return { none: `the market minimum order (~${fmt(minCost)} ${r.quote}) is above the largest allowed position (${fmt(w.cap)})` };
  return { note: `minimum order ~${fmt(minCost)} ${r.quote}` };
};

const exposureGate =
  (limits: RiskLimits): Gate =>
  (input) => {
    const inMarket = held(input, input.symbol);
    const total = input.holdings.reduce((s, h) => s + h.value, 0);
    const marketCap = input.equity * Math.min(limits.maxPositionFraction, ABSOLUTE_MAX_POSITION_FRACTION);
    const totalRoom = input.equity * limits.maxTotalExposure - total;
    if (inMarket >= marketCap) return { deny: `${input.symbol} exposure ${fmt(inMarket)} is at its cap of ${pct(limits.maxPositionFraction)} of equity` };
    if (totalRoom <= 0) return { deny: `total exposure ${fmt(total)} is at its cap of ${pct(limits.maxTotalExposure)} of equity ${fmt(input.equity)}` };
    // The target is a position value: what is held already plus the room left in the total.
    return { note: `room ${fmt(Math.min(marketCap - inMarket, totalRoom))}`, cap: Math.min(marketCap, inMarket + totalRoom) };
  };

const openPositionsGate =
  (limits: RiskLimits): Gate =>
  (input) => {
    const open = new Set(input.holdings.filter((h) => h.value > 0).map((h) => h.symbol));
    if (open.has(input.symbol)) return { note: `adds to an open position (${open.size} open)` };
    if (open.size >= limits.maxOpenPositions) return { deny: `${open.size} positions open, the most allowed is ${limits.maxOpenPositions}` };
    return { note: `${open.size + 1} of ${limits.maxOpenPositions} positions with this one` };
  };

const correlationGate =
  (limits: RiskLimits): Gate =>
  (input) => {
    const others = [...new Set(input.holdings.filter((h) => h.value > 0 && h.symbol !== input.symbol).map((h) => h.symbol))].sort();
    const unjudged: string[] = [];
    let highest: { symbol: string; rho: number } | null = null;
    for (const symbol of others) {
      const pair = alignedReturns({ [input.symbol]: input.closes[input.symbol] ?? [], [symbol]: input.closes[symbol] ?? [] });
      const rho = correlation(pair[input.symbol]!, pair[symbol]!, limits.minCorrelationSamples);
      if (rho === null) unjudged.push(symbol);
      else if (!highest || rho > highest.rho) highest = { symbol, rho };
    }
    if (highest && highest.rho > limits.maxCorrelation) {
      return { deny: `returns of ${input.symbol} correlate ${fmt(highest.rho, 3)} with held ${highest.symbol}, above the limit ${limits.maxCorrelation}` };
    }
    const judged = highest ? `highest correlation ${fmt(highest.rho, 3)} (${highest.symbol})` : 'no held market to correlate with';
    return { note: unjudged.length > 0 ? `${judged}; too little shared history with ${unjudged.join(', ')}` : judged };
  };

/** Size multiplier for a drawdown: 1 at the peak, falling linearly to 0 at the maximum drawdown. */
export function drawdownScale(drawdown: number, maxDrawdown: number): number {
  if (!finite(drawdown, maxDrawdown) || maxDrawdown <= 0) return 0;
  return Math.min(1, Math.max(0, 1 - Math.max(0, drawdown) / maxDrawdown));
}

const drawdownGate =
  (limits: RiskLimits): Gate =>
  (input) => {
    const peak = Math.max(input.peakEquity, input.equity);
    const drawdown = peak > 0 ? 1 - input.equity / peak : 1;
    if (!Number.isFinite(drawdown)) return { deny: `drawdown cannot be computed from equity ${input.equity} and peak ${input.peakEquity}` };
    if (drawdown >= limits.maxDrawdown) return { deny: `drawdown ${pct(drawdown)} from the peak ${fmt(peak)} reached the maximum ${pct(limits.maxDrawdown)}` };
    const scale = drawdownScale(drawdown, limits.maxDrawdown);
    return { note: `drawdown ${pct(drawdown)}: size ×${fmt(scale, 3)}`, scale };
  };

const lossesGate =
  (limits: RiskLimits): Gate =>
  (input) => {
    const { consecutiveStopOuts, lastStopOutAt } = input.losses;
    if (consecutiveStopOuts >= limits.stopOutsBeforeCooldown && lastStopOutAt !== null && input.now < lastStopOutAt + limits.cooldownMs) {
      const left = Math.ceil((lastStopOutAt + limits.cooldownMs - input.now) / 60_000);
      return { deny: `cooldown after ${consecutiveStopOuts} stop-outs in a row: ${left} more minute(s)` };
    }
    const dayLoss = input.dayStartEquity > 0 ? 1 - input.equity / input.dayStartEquity : 0;
    if (!Number.isFinite(dayLoss)) return { deny: `daily loss cannot be computed from equity ${input.equity} and the day's start ${input.dayStartEquity}` };
    if (dayLoss >= limits.dailyLossLimit) return { deny: `lost ${pct(dayLoss)} today, the daily limit is ${pct(limits.dailyLossLimit)}` };
    return { note: `${consecutiveStopOuts} stop-out(s) in a row; today ${dayLoss > 0 ? '-' : '+'}${pct(Math.abs(dayLoss))}` };
  };

/**
 * Fractional Kelly from the ensemble's edge: f* = mean / variance of the signed forward return
 * (the continuous-return Kelly bet), times the configured fraction, capped at 25 % and the
 * configured cap, shrunk when volatility is above its target. Zero, never NaN, when the edge is
 * unknown, not positive, resting on too few samples, or when anything it needs is not finite.
 */
export function kellyFraction(input: Pick<EntryInput, 'edge' | 'atr' | 'price'>, limits: RiskLimits): { fraction: number; why: string } {
  const edge = input.edge;
  if (!edge) return { fraction: 0, why: 'no estimate of edge yet' };
  if (!finite(edge.mean, edge.variance, edge.samples, limits.kellyFraction)) return { fraction: 0, why: 'edge estimate is not finite' };
  if (edge.samples < limits.minEdgeSamples) return { fraction: 0, why: `edge rests on ${fmt(edge.samples, 3)} samples, fewer than ${limits.minEdgeSamples}` };
  if (edge.mean <= 0) return { fraction: 0, why: `estimated edge ${fmt(edge.mean)} is not positive` };
  if (edge.variance <= 0) return { fraction: 0, why: 'edge has no variance to size against' };
  const full = edge.mean / edge.variance;
  let fraction = Math.min(limits.kellyFraction * full, ABSOLUTE_MAX_POSITION_FRACTION, limits.maxPositionFraction);
  let why = `Kelly ${fmt(full, 3)} × ${limits.kellyFraction}`;
  if (limits.volatilityTarget > 0) {
    const vol = input.atr !== null && input.price > 0 ? input.atr / input.price : NaN;
    if (!Number.isFinite(vol)) return { fraction: 0, why: 'volatility (ATR) is unknown' };
    if (vol > limits.volatilityTarget) {
      fraction *= limits.volatilityTarget / vol;
      why += `, volatility ${pct(vol)} over target ${pct(limits.volatilityTarget)}`;
    }
  }
  return Number.isFinite(fraction) && fraction > 0 ? { fraction, why } : { fraction: 0, why: 'Kelly fraction is not positive' };
}

const sizingGate =
  (limits: RiskLimits): Gate =>
  (input, w) => {
    const kelly = kellyFraction(input, limits);
    if (kelly.fraction === 0) return { none: `size is zero: ${kelly.why}` };
    const target = Math.min(input.equity * kelly.fraction * w.scale, w.cap);
    if (!(target > 0) || !Number.isFinite(target)) return { none: `size is zero: target ${fmt(target)} after scaling ×${fmt(w.scale, 3)}` };
    return { note: `${kelly.why} → ${pct(target / input.equity)} of equity`, target };
  };

const valueAtRiskGate =
  (limits: RiskLimits): Gate =>
  (input, w) => {
    const weights = wouldBeWeights(input, w.targetValue ?? 0);
    const joint = alignedReturns(Object.fromEntries(Object.keys(weights).map((s) => [s, input.closes[s] ?? []])));
    const figures = riskFigures(portfolioReturns(weights, joint), limits.var);
    if (!figures) return { note: 'too little history for VaR' };
    if (!figuresAreFinite(figures)) return { deny: 'VaR of the would-be portfolio is not finite: the price history holds absurd values' };
    w.figures = figures;
    if (figures.historicalVar > limits.maxVar) {
      return { deny: `one-candle ${pct(limits.var.confidence)} VaR of the would-be portfolio is ${pct(figures.historicalVar)} of equity, above the ${pct(limits.maxVar)} limit` };
    }
    return { note: `VaR ${pct(figures.historicalVar)}, CVaR ${pct(figures.historicalCvar)}` };
  };

/** Fractions of equity the portfolio would hold if this market's position became `targetValue`. */
export function wouldBeWeights(input: Pick<EntryInput, 'holdings' | 'symbol' | 'equity'>, targetValue: number): Record<string, number> {
  const weights: Record<string, number> = {};
  if (!(input.equity > 0)) return weights;
  for (const h of input.holdings) if (h.symbol !== input.symbol) weights[h.symbol] = (weights[h.symbol] ?? 0) + h.value / input.equity;
  weights[input.symbol] = Math.max(targetValue, 0) / input.equity;
  return weights;
}

/**
 * Passes a wish to enter (or add to) a long position through every gate in order and sizes it.
 * The result is a market order rounded to the market's precision, or a denial or "none" that
 * names the gate and says why. Every input is distrusted: non-finite numbers deny.
 */
export function evaluateEntry(input: EntryInput, limits: RiskLimits): RiskOutcome {
  const w: Working = { cap: Infinity, scale: 1, trail: [], figures: null };
  if (!finite(input.equity, input.peakEquity, input.dayStartEquity, input.price) || input.holdings.some((h) => !Number.isFinite(h.value))) {
    return { verdict: 'deny', gate: 'sizing', reason: 'an input to the risk engine is not a finite number', trail: [] };
  }
  if (!(input.equity > 0)) return { verdict: 'deny', gate: 'exposure', reason: `equity ${input.equity} is not positive`, trail: [] };
  const gates: Record<GateName, Gate> = {
    'trading-state': tradingStateGate,
    // Market rules are checked against the cap the exposure gate sets, so they run on a provisional cap first.
    'market-rules': (i, wk) => marketRulesGate(i, { ...wk, cap: Math.min(wk.cap, i.equity * Math.min(limits.maxPositionFraction, ABSOLUTE_MAX_POSITION_FRACTION)) }),
    exposure: exposureGate(limits),
    'open-positions': openPositionsGate(limits),
    correlation: correlationGate(limits),
    drawdown: drawdownGate(limits),
    losses: lossesGate(limits),
    sizing: sizingGate(limits),
    'value-at-risk': valueAtRiskGate(limits),
  };
  for (const name of GATES) {
    const result = gates[name](input, w);
    if ('deny' in result) return { verdict: 'deny', gate: name, reason: result.deny, trail: w.trail, figures: w.figures };
    if ('none' in result) return { verdict: 'none', gate: name, reason: result.none, trail: w.trail, figures: w.figures };
    w.trail.push({ gate: name, note: result.note });
    if (result.cap !== undefined) w.cap = Math.min(w.cap, result.cap);
    if (result.scale !== undefined) w.scale *= result.scale;
    if (result.target !== undefined) w.targetValue = result.target;
  }
  // Holdings of this market beyond the position itself (an unsettled buy) are part of the target too.
  const positionValue = Number(input.currentAmount) * input.price;
  const beyondPosition = Math.max(0, held(input, input.symbol) - (Number.isFinite(positionValue) ? positionValue : 0));
  const targetValue = Math.max(0, Math.min(w.targetValue ?? 0, w.cap) - beyondPosition);
  // Decimal of the float itself, truncated: the order rounds down from here, never up past a cap.
  const target = new Decimal(targetValue).toDecimalPlaces(12, Decimal.ROUND_DOWN).toFixed();
  const sized = orderForTarget({
    rules: input.rules!,
    currentAmount: input.currentAmount,
    targetValue: target,
    price: input.price,
    cash: input.freeCash,
    slippageBps: input.execution.slippageBps,
    feeRate: input.execution.feeRate,
  });
  if ('skip' in sized) return { verdict: 'none', gate: 'market-rules', reason: sized.skip, trail: w.trail, figures: w.figures };
  // Sizing toward a target below the current holding would sell: an entry never does that.
  if (sized.side === 'sell') return { verdict: 'none', gate: 'sizing', reason: `already holds more than the target ${target}`, trail: w.trail, figures: w.figures };
  return { verdict: 'order', side: 'buy', amount: sized.amount, targetValue: target, trail: w.trail, figures: w.figures };
}

/**
 * Reducing a position (toward `targetValue`, 0 = flat) passes in every trading state; only the
 * market's rules can stop it (an amount below the minimum cannot be sold).
 */
export function evaluateReduction(
  input: Pick<EntryInput, 'symbol' | 'rules' | 'currentAmount' | 'price' | 'execution'>,
  targetValue = '0',
): RiskOutcome {
  if (!input.rules) return { verdict: 'deny', gate: 'market-rules', reason: `no market rules for ${input.symbol}`, trail: [] };
  const sized = orderForTarget({
    rules: input.rules,
    currentAmount: input.currentAmount,
    targetValue,
    price: input.price,
    cash: '0',
    slippageBps: input.execution.slippageBps,
    feeRate: input.execution.feeRate,
  });
  if ('skip' in sized) return { verdict: 'none', gate: 'market-rules', reason: sized.skip, trail: [] };
  if (sized.side !== 'sell') return { verdict: 'none', gate: 'market-rules', reason: 'a reduction never buys', trail: [] };
  return { verdict: 'order', side: 'sell', amount: sized.amount, targetValue, trail: [{ gate: 'trading-state', note: 'risk-reducing: allowed in every state' }], figures: null };
}
