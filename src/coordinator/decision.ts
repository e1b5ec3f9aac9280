import { withEffectiveWeight, type Abstention, type Consensus, type Vote } from './aggregate.ts';
import type { GateNote } from '../risk/engine.ts';
import type { ExitSignal } from '../risk/exits.ts';
import type { RiskFigures } from '../risk/valueAtRisk.ts';

/** What the risk engine said about a decision. */
export interface DecisionRisk {
  verdict: 'order' | 'deny' | 'none';
  /** The gate that decided (deny, none) or the last one passed. */
  gate?: string | undefined;
  reason: string;
  trail?: GateNote[] | undefined;
  figures?: RiskFigures | null | undefined;
  equity?: string | undefined;
  targetValue?: string | undefined;
}

/** The order a decision hands to execution. */
export interface DecisionOrder {
  clientOrderId: string;
  side: 'buy' | 'sell';
  amount: string;
  purpose: 'consensus' | 'exit';
  /** Set for a limit order (on the market's tick), with how long it may rest. */
  limit?: { price: string; expiresAfterMs: number } | undefined;
}

/**
 * One market's decision on one candle, as recorded (in Redis by the pipeline, in memory by the
 * backtester): the consensus, every vote and abstention behind it, the position monitor's exit,
 * the risk engine's verdict and the order, if any.
 */
export interface Decision {
  symbol: string;
  timeframe: string;
  candleTs: number;
  action: 'buy' | 'sell' | 'hold';
  confidence: number;
  agreement: number;
  consensus: string;
  regime: string | null;
  vetoes: Consensus['vetoes'];
  /** Every valid answer, with the weight it was counted with (0 for veto and regime bots). */
  votes: Array<Vote & { effectiveWeight: number }>;
  abstentions: Abstention[];
  /** The position monitor's exit, when one fired: it overrides the consensus. */
  exit: ExitSignal | null;
  risk: DecisionRisk;
  order: DecisionOrder | null;
  /**
   * Value of the market's holding as a share of its quote currency's equity, at this candle's
   * close (after the fills this candle brought, before this decision's order). What
   * inventory-aware bots see on the market's next candle, so that they see the same whether the
   * next analysis runs early or late.
   */
  inventory: number;
  decidedAt: number;
  /** Wall-clock ms from the feed seeing the candle to this decision. */
  latencyMs: number;
}

/** The decision that fills in `decision` from the consensus (risk and order come later). */
export function newDecision(
  candle: { symbol: string; timeframe: string; candleTs: number },
  consensus: Consensus,
  votes: readonly Vote[],
  abstentions: Abstention[],
  clock: { decidedAt: number; latencyMs: number },
): Decision {
  return {
    symbol: candle.symbol,
    timeframe: candle.timeframe,
    candleTs: candle.candleTs,
    action: consensus.action,
    confidence: consensus.confidence,
    agreement: consensus.agreement,
    consensus: consensus.reason,
    regime: consensus.regime,
    vetoes: consensus.vetoes,
    votes: recordedVotes(votes, consensus.counted),
    abstentions,
    exit: null,
    risk: { verdict: 'none', reason: consensus.reason },
    order: null,
    inventory: 0,
    decidedAt: clock.decidedAt,
    latencyMs: clock.latencyMs,
  };
}

/**
 * Every vote with the weight it was counted with: the consensus's own copy where it counted the
 * vote (`counted` keeps the votes' order), a copy with weight 0 where it did not (veto and regime
 * bots, unusable weights). One copy per vote per candle, not two.
 */
function recordedVotes(votes: readonly Vote[], counted: Consensus['counted']): Decision['votes'] {
  const out: Decision['votes'] = new Array(votes.length);
  let c = 0;
  for (let k = 0; k < votes.length; k++) {
    const v = votes[k]!;
    const match = counted[c];
    if (match !== undefined && match.instanceId === v.instanceId) {
      out[k] = match;
      c++;
    } else out[k] = withEffectiveWeight(v, 0);
  }
  return out;
}
