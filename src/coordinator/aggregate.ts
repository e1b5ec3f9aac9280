import type { BotFamily, BotRole } from '../core/bot.ts';
import { copyWith, hasKeysInOrder } from '../core/copyWith.ts';
import type { Regime, SignalAction } from '../core/signal.ts';
import { recordMultiplier, type TrackRecord, type TrackRecordPolicy } from './trackRecord.ts';

/** One bot instance's valid answer for one candle. */
export interface Vote {
  instanceId: string;
  botId: string;
  family: BotFamily;
  role: BotRole;
  /** The configured weight. */
  weight: number;
  action: SignalAction;
  confidence: number;
  reason: string;
  regime?: Regime | undefined;
  limitPrice?: number | undefined;
}

/** An instance that was asked and gave no usable answer (failed, timed out, warming up, missing). */
export interface Abstention {
  instanceId: string;
  why: string;
}

export interface AggregationPolicy {
  /** 'confidence-weighted': sides compete on Σ weight × confidence; 'majority': on Σ weight alone. */
  method: 'confidence-weighted' | 'majority';
  /** Fewest valid votes (holds included) for any decision but hold. */
  minVoters: number;
  /** Least share of the voters' weight that must be on the winning side. */
  minAgreement: number;
  /** Least weighted confidence of the winning side. */
  minConfidence: number;
  trackRecord: TrackRecordPolicy;
  /** Per regime, a multiplier of each family's weight (missing = 1). */
  regimeWeights: Partial<Record<Regime, Partial<Record<BotFamily, number>>>>;
}

/** A vote as counted: with the weight it carried after the track record and the regime. */
export interface CountedVote extends Vote {
  effectiveWeight: number;
}

export interface Consensus {
  action: SignalAction;
  /** Weighted mean confidence of the winning side (0 for hold by default). */
  confidence: number;
  /** Share of the voters' weight on the winning side. */
  agreement: number;
  voters: number;
  weights: Record<SignalAction, number>;
  reason: string;
  /** The regime the regime bots agreed on, if any. */
  regime: Regime | null;
  /** Veto bots that objected to entries on this candle. */
  vetoes: Array<{ instanceId: string; reason: string }>;
  /**
   * A limit price for the winning side when most of its weight came with one (grid and
   * market-making bots): their weight × confidence average. Null means a market order.
   */
  limitPrice: number | null;
  counted: CountedVote[];
}

/**
 * The order votes and abstentions are listed in (by instance id, code unit by code unit): the
 * same in the pipeline and the backtester, and far cheaper than a locale-aware comparison.
 */
export function byInstanceId(a: { instanceId: string }, b: { instanceId: string }): number {
  return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
}

/**
 * Turns one candle's votes for one market into one answer, so two bots' opposite wishes can
 * never become opposite orders. Regime bots label the market; veto bots can block a buy; the
 * others vote with their configured weight × track-record multiplier × regime multiplier. The
 * winner must carry enough of the voters' weight and enough confidence, else the market holds.
 */
export function aggregate(votes: readonly Vote[], policy: AggregationPolicy, records: ReadonlyMap<string, TrackRecord> = new Map()): Consensus {
  // Loops rather than filter and map chains: this runs on every candle over every vote, and each
  // chain made an array per step. The same votes in the same order, so the same sums to the bit.
  const regimeVotes: Vote[] = [];
  const vetoes: Consensus['vetoes'] = [];
  for (const v of votes) {
    if (v.role === 'regime' && usable(v)) regimeVotes.push(v);
    else if (v.role === 'veto' && v.action === 'sell' && v.confidence > 0 && usable(v)) vetoes.push({ instanceId: v.instanceId, reason: v.reason });
  }
  const regime = regimeOf(regimeVotes);

  // Sums per side in locals, not in objects keyed by the action: a keyed store with a changing
  // key takes V8's slow path, three of them per vote. The same adds in the same order.
  const counted: CountedVote[] = [];
  const majority = policy.method === 'majority';
  let weightBuy = 0, weightSell = 0, weightHold = 0;
  let scoreBuy = 0, scoreSell = 0;
  let confidenceBuy = 0, confidenceSell = 0;
  let voters = 0;
  for (const v of votes) {
    if (v.role !== 'vote' || !usable(v)) continue;
    const byRegime = regime ? (policy.regimeWeights[regime]?.[v.family] ?? 1) : 1;
    const effectiveWeight = v.weight * recordMultiplier(records.get(v.instanceId), policy.trackRecord) * (Number.isFinite(byRegime) && byRegime >= 0 ? byRegime : 1);
    counted.push(withEffectiveWeight(v, effectiveWeight));
    const points = majority ? effectiveWeight : effectiveWeight * v.confidence;
    if (v.action === 'buy') {
      weightBuy += effectiveWeight;
      confidenceBuy += effectiveWeight * v.confidence;
      scoreBuy += points;
    } else if (v.action === 'sell') {
      weightSell += effectiveWeight;
      confidenceSell += effectiveWeight * v.confidence;
      scoreSell += points;
    } else weightHold += effectiveWeight;
    if (effectiveWeight > 0) voters++;
  }
  const weights: Record<SignalAction, number> = { buy: weightBuy, sell: weightSell, hold: weightHold };
  const score = { buy: scoreBuy, sell: scoreSell };
  const confidenceSum = { buy: confidenceBuy, sell: confidenceSell };
  const total = weights.buy + weights.sell + weights.hold;
  const base: ConsensusBase = { voters, weights, regime, vetoes, counted, limitPrice: null };

  if (voters < policy.minVoters) return holdWith(base, `no quorum: ${voters} of ${policy.minVoters} required votes`);
  if (score.buy === score.sell) return holdWith(base, score.buy === 0 ? 'no bot wants to trade' : 'buy and sell tied');
  const side: 'buy' | 'sell' = score.buy > score.sell ? 'buy' : 'sell';
  const agreement = total > 0 ? weights[side] / total : 0;
  const confidence = weights[side] > 0 ? confidenceSum[side] / weights[side] : 0;
  if (agreement < policy.minAgreement) {
    return holdWith(base, `${side} has ${pct(agreement)} of the weight, below the ${pct(policy.minAgreement)} required`, agreement);
  }
  if (confidence < policy.minConfidence) {
    return holdWith(base, `${side} confidence ${confidence.toFixed(2)} below ${policy.minConfidence}`, agreement);
  }
  if (side === 'buy' && vetoes.length > 0) {
    return holdWith(base, `buy vetoed by ${vetoes.map((v) => `${v.instanceId} (${v.reason})`).join(', ')}`, agreement);
  }
  const inRegime = regime ? ` in a ${regime} market` : '';
  const limitPrice = limitPriceOf(counted.filter((v) => v.action === side));
  const at = limitPrice === null ? '' : `, limit ${limitPrice.toPrecision(8)}`;
  return Object.assign({ action: side, confidence, agreement, reason: `${side}: ${pct(agreement)} of the weight, confidence ${confidence.toFixed(2)}${inRegime}${at}` }, base, { limitPrice });
}

/** The keys of the usual vote (a signal of action, confidence and reason), in the order analysis writes them. */
const USUAL_VOTE_KEYS: readonly string[] = ['instanceId', 'botId', 'weight', 'family', 'role', 'action', 'confidence', 'reason'];

/**
 * `copyWith(v, 'effectiveWeight', w)`: a literal for the usual vote (same keys, same order, so the
 * same JSON), copyWith for any other. Every vote of every candle is copied this way.
 */
export function withEffectiveWeight(v: Vote, effectiveWeight: number): CountedVote {
  if (hasKeysInOrder(v, USUAL_VOTE_KEYS)) {
    return { instanceId: v.instanceId, botId: v.botId, weight: v.weight, family: v.family, role: v.role, action: v.action, confidence: v.confidence, reason: v.reason, effectiveWeight };
  }
  return copyWith(v, 'effectiveWeight', effectiveWeight);
}

/*
 * Module-level helpers rather than closures made per call: the bundles keep function names
 * (esbuild keepNames), which costs a defineProperty for every closure created, and this runs on
 * every candle. Object.assign rather than spreads: see core/copyWith.ts.
 */
function usable(v: Vote): boolean {
  return v.weight > 0 && Number.isFinite(v.weight) && Number.isFinite(v.confidence);
}

type ConsensusBase = Pick<Consensus, 'voters' | 'weights' | 'regime' | 'vetoes' | 'counted' | 'limitPrice'>;

function holdWith(base: ConsensusBase, reason: string, agreement = 0): Consensus {
  return Object.assign({ action: 'hold' as const, confidence: 0, agreement, reason }, base);
}

/** The weighted limit price of a side, if voters with one carry more than half of its weight. */
function limitPriceOf(side: readonly CountedVote[]): number | null {
  const total = side.reduce((s, v) => s + v.effectiveWeight, 0);
  const priced = side.filter((v) => v.limitPrice !== undefined && v.limitPrice > 0 && Number.isFinite(v.limitPrice));
  const pricedWeight = priced.reduce((s, v) => s + v.effectiveWeight, 0);
  if (total <= 0 || pricedWeight <= total / 2) return null;
  const w = priced.reduce((s, v) => s + v.effectiveWeight * v.confidence, 0);
  if (!(w > 0)) return null;
  const price = priced.reduce((s, v) => s + v.effectiveWeight * v.confidence * v.limitPrice!, 0) / w;
  return Number.isFinite(price) && price > 0 ? price : null;
}

/** The regime with the most weight × confidence behind it; null when no regime bot said anything. */
function regimeOf(votes: readonly Vote[]): Regime | null {
  const score = new Map<Regime, number>();
  for (const v of votes) if (v.regime && v.confidence > 0) score.set(v.regime, (score.get(v.regime) ?? 0) + v.weight * v.confidence);
  let best: Regime | null = null;
  for (const [regime, s] of [...score].sort(([a], [b]) => a.localeCompare(b))) if (best === null || s > score.get(best)!) best = regime;
  return best;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
