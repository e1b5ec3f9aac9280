import type { SignalAction } from '../core/signal.ts';

/** One bot instance's valid answer for one candle. */
export interface Vote {
  instanceId: string;
  botId: string;
  weight: number;
  action: SignalAction;
  confidence: number;
  reason: string;
}

/** An instance that was asked and gave no usable answer (failed, timed out, warming up, missing). */
export interface Abstention {
  instanceId: string;
  why: string;
}

export interface AggregationPolicy {
  /** Fewest valid votes (holds included) for any decision but hold. */
  minVoters: number;
  /** Least share of the voters' weight that must be on the winning side. */
  minAgreement: number;
  /** Least weighted confidence of the winning side. */
  minConfidence: number;
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
}

/**
 * Confidence-weighted vote with a quorum: buy and sell compete on Σ weight × confidence; the winner
 * must carry enough of the voters' weight and enough confidence, else the market holds. One
 * answer per market, so two bots' opposite wishes can never become opposite orders.
 */
export function aggregate(votes: readonly Vote[], policy: AggregationPolicy): Consensus {
  const weights: Record<SignalAction, number> = { buy: 0, sell: 0, hold: 0 };
  const score: Record<SignalAction, number> = { buy: 0, sell: 0, hold: 0 };
  for (const v of votes) {
    if (!(v.weight > 0) || !Number.isFinite(v.weight) || !Number.isFinite(v.confidence)) continue;
    weights[v.action] += v.weight;
    score[v.action] += v.weight * v.confidence;
  }
  const voters = votes.filter((v) => v.weight > 0).length;
  const total = weights.buy + weights.sell + weights.hold;
  const holdWith = (reason: string, agreement = 0): Consensus => ({ action: 'hold', confidence: 0, agreement, voters, weights, reason });

  if (voters < policy.minVoters) return holdWith(`no quorum: ${voters} of ${policy.minVoters} required votes`);
  if (score.buy === score.sell) return holdWith(score.buy === 0 ? 'no bot wants to trade' : 'buy and sell tied');
  const side: 'buy' | 'sell' = score.buy > score.sell ? 'buy' : 'sell';
  const agreement = total > 0 ? weights[side] / total : 0;
  const confidence = weights[side] > 0 ? score[side] / weights[side] : 0;
  if (agreement < policy.minAgreement) {
    return holdWith(`${side} has ${pct(agreement)} of the weight, below the ${pct(policy.minAgreement)} required`, agreement);
  }
  if (confidence < policy.minConfidence) {
    return holdWith(`${side} confidence ${confidence.toFixed(2)} below ${policy.minConfidence}`, agreement);
  }
  return { action: side, confidence, agreement, voters, weights, reason: `${side}: ${pct(agreement)} of the weight, confidence ${confidence.toFixed(2)}` };
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
