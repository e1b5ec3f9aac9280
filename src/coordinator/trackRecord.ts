import type { EdgeEstimate } from '../risk/engine.ts';

/**
 * Each bot instance's record on one market: the signed forward return of its buy and sell votes
 * (a buy scores the market's return over the next `horizon` candles, a sell its negative),
 * decayed so recent behaviour counts more. Sums, not averages, so an update is one multiply-add.
 */
export interface TrackRecord {
  /** Decayed count of scored votes. */
  n: number;
  /** Decayed sums of the signed return and of its square. */
  sum: number;
  sumSq: number;
  /** Decayed count of votes whose signed return was positive. */
  hits: number;
  /** Candle time of the last vote scored. */
  lastTs: number;
}

export interface TrackRecordPolicy {
  /** Weights follow the record: 'hit-rate', or 'sharpe' (mean over deviation of the signed return); 'off' ignores it. */
  metric: 'off' | 'hit-rate' | 'sharpe';
  /** Observations after which an old one counts half. */
  halfLife: number;
  /** Pseudo-observations at a neutral record: a young record moves the weight little. */
  prior: number;
}

export const EMPTY_RECORD: TrackRecord = { n: 0, sum: 0, sumSq: 0, hits: 0, lastTs: 0 };

/** The record after one more scored vote. A non-finite return is ignored (the record is unchanged). */
export function scoreVote(record: TrackRecord | undefined, signedReturn: number, ts: number, halfLife: number): TrackRecord {
  const r = record ?? EMPTY_RECORD;
  if (!Number.isFinite(signedReturn) || ts <= r.lastTs) return r;
  const keep = halfLife > 0 ? 0.5 ** (1 / halfLife) : 1;
  return {
    n: r.n * keep + 1,
    sum: r.sum * keep + signedReturn,
    sumSq: r.sumSq * keep + signedReturn * signedReturn,
    hits: r.hits * keep + (signedReturn > 0 ? 1 : 0),
    lastTs: ts,
  };
}

/**
 * Scores the votes of an earlier decision by what the market did since (`change`, the return from
 * that candle's close to now): a buy earns the return, a sell its negative; holds, vetoes and
 * regime labels are not scored. Returns the updated records of the instances that voted.
 */
export function scoreVotes(
  records: ReadonlyMap<string, TrackRecord>,
  votes: ReadonlyArray<{ instanceId: string; role: string; action: string }>,
  change: number,
  thenTs: number,
  halfLife: number,
  /** Where the updated records go: a new map by default; the backtest passes `records` itself. */
  updated: Map<string, TrackRecord> = new Map(),
): Map<string, TrackRecord> {
  for (const v of votes) {
    if (v.role !== 'vote' || v.action === 'hold') continue;
    updated.set(v.instanceId, scoreVote(records.get(v.instanceId), v.action === 'buy' ? change : -change, thenTs, halfLife));
  }
  return updated;
}

export function recordMean(r: TrackRecord): number {
  return r.n > 0 ? r.sum / r.n : 0;
}

/** Variance of the signed return (population form of the decayed moments; never negative). */
export function recordVariance(r: TrackRecord): number {
  if (r.n <= 0) return 0;
  const m = r.sum / r.n;
  return Math.max(0, r.sumSq / r.n - m * m);
}

const MIN_MULTIPLIER = 0.1;
const MAX_MULTIPLIER = 2;

/**
 * How much the record scales an instance's configured weight: 1 for a neutral or young record,
 * up to 2 for a consistently right one, down to 0.1 for a consistently wrong one (not 0: a bot
 * that was wrong for a while keeps a voice to earn its way back).
 */
export function recordMultiplier(record: TrackRecord | undefined, policy: TrackRecordPolicy): number {
  if (policy.metric === 'off' || !record || record.n <= 0) return 1;
  const prior = Math.max(0, policy.prior);
  let m: number;
  if (policy.metric === 'hit-rate') {
    const hitRate = (record.hits + prior * 0.5) / (record.n + prior);
    m = 2 * hitRate;
  } else {
    const sd = Math.sqrt(recordVariance(record));
    const sharpe = sd > 0 ? recordMean(record) / sd : 0;
    m = 1 + sharpe * (record.n / (record.n + prior));
  }
  return Number.isFinite(m) ? Math.min(MAX_MULTIPLIER, Math.max(MIN_MULTIPLIER, m)) : 1;
}

/**
 * The ensemble's edge for the side it chose: the voters' records averaged by weight × confidence.
 * Samples is the weighted mean count, so voters with no record pull it down. Null with no voters.
 */
export function ensembleEdge(voters: ReadonlyArray<{ weight: number; confidence: number; record: TrackRecord | undefined }>): EdgeEstimate | null {
  let total = 0;
  let mean = 0;
  let variance = 0;
  let samples = 0;
  for (const v of voters) {
    const w = v.weight * v.confidence;
    if (!(w > 0) || !Number.isFinite(w)) continue;
    const r = v.record ?? EMPTY_RECORD;
    total += w;
    mean += w * recordMean(r);
    variance += w * recordVariance(r);
    samples += w * r.n;
  }
  if (total === 0) return null;
  const edge = { mean: mean / total, variance: variance / total, samples: samples / total };
  return Object.values(edge).every(Number.isFinite) ? edge : null;
}
