import type { Redis } from 'ioredis';
import { marketKey } from '../core/market.ts';
import type { Keyspace } from '../infra/keys.ts';
import { TransientError } from '../core/errors.ts';
import type { Fence } from './lock.ts';
import { Script } from './script.ts';

/** How long one decision stays readable by key (unless trimmed by count first); the log below keeps the most recent ones. */
const DECISION_TTL_S = 7 * 86_400;
const DECISION_LOG_MAX = 10_000;
const WAITING_TTL_S = 3600;
/** Default of coordinator.keepDecisions: decisions kept by key per market and timeframe. */
export const DECISIONS_PER_SERIES = 5000;

/**
 * Lua: keeps a series' index (a sorted set of candle times) at `cap` members, deleting the
 * per-candle key (`prefix` .. time) of each member it drops, oldest first. Those keys are not in
 * KEYS: they share the deployment's hash tag, so they live in the same Cluster slot.
 */
export const TRIM_SERIES_INDEX = `
local function trimSeries(index, cap, prefix)
  local excess = redis.call('ZCARD', index) - cap
  if excess <= 0 then return end
  for _, ts in ipairs(redis.call('ZRANGE', index, 0, excess - 1)) do redis.call('DEL', prefix .. ts) end
  redis.call('ZREMRANGEBYRANK', index, 0, excess - 1)
end
`;

/** A job parked until a decision is made: woken (promoted) by the job that makes it. */
export interface DecisionWaiter {
  queue: string;
  jobId: string;
}

/**
 * Records a decision only if none exists for that candle, counts it, and reserves its order as
 * pending in the ledger, in one step; with a fence, only while that lock is still held (-1 if not).
 * The series' index gets the candle time, and the oldest decisions beyond the cap are deleted.
 */
const RECORD_ONCE = new Script(`${TRIM_SERIES_INDEX}
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[5] then return -1 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], 'decisions', 1)
  redis.call('HINCRBY', KEYS[2], 'decisions.' .. ARGV[4], 1)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[1])
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[5], ARGV[6], ARGV[7]) end
  redis.call('ZADD', KEYS[6], ARGV[8], ARGV[8])
  redis.call('EXPIRE', KEYS[6], ARGV[2])
  trimSeries(KEYS[6], tonumber(ARGV[9]), ARGV[10])
  return 1
end
return 0
`);

/** Notes a waiting job under the decision's candle time, indexed per series and trimmed to the cap like decisions. */
const MARK_WAITING = new Script(`${TRIM_SERIES_INDEX}
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[2])
trimSeries(KEYS[2], tonumber(ARGV[4]), ARGV[5])
`);

/** The part of a per-candle key before its candle time: what trimSeries joins each time to. */
function prefixOf(key: string, ts: number): string {
  const suffix = String(ts);
  if (!key.endsWith(suffix)) throw new Error(`key ${key} does not end with its candle time ${suffix}`);
  return key.slice(0, key.length - suffix.length);
}

export interface RecordOptions {
  /** The lock the decision was made under; nothing is written if it was lost meanwhile. */
  fence?: Fence;
  /** An order to reserve as pending: the ledger's pending hash, its field (the symbol) and value. */
  pending?: { key: string; field: string; value: string };
}

export interface StoredDecision {
  symbol: string;
  timeframe: string;
  candleTs: number;
  action: string;
}

export class DecisionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    /**
     * Most decisions kept by key per market and timeframe (with the notes of jobs waiting for
     * them); older ones are deleted as new ones come. Each also expires after 7 days.
     */
    readonly keepPerSeries = DECISIONS_PER_SERIES,
    /** About how many decisions the log stream keeps (MAXLEN ~: whole stream nodes are trimmed). */
    readonly logMax = DECISION_LOG_MAX,
  ) {
    if (!(Number.isInteger(keepPerSeries) && keepPerSeries >= 1)) throw new Error(`keepPerSeries must be a positive integer, got ${keepPerSeries}`);
  }

  /**
   * True if this call recorded it; false if the candle already had a decision (a re-run job).
   * Throws a TransientError if the fence's lock was lost: the job retries and decides afresh.
   */
  async recordOnce(decision: StoredDecision, options: RecordOptions = {}): Promise<boolean> {
    const series = marketKey(decision.symbol);
    const key = this.keys.decision(series, decision.timeframe, decision.candleTs);
    const { fence, pending } = options;
    const created = Number(
      await RECORD_ONCE.run(
        this.redis,
        [key, this.keys.counters, this.keys.decisionLog, fence?.key ?? key, pending?.key ?? key, this.keys.decisionIndex(series, decision.timeframe)],
        [
          JSON.stringify(decision),
          DECISION_TTL_S,
          this.logMax,
          decision.action,
          fence?.token ?? '',
          pending?.field ?? '',
          pending?.value ?? '',
          decision.candleTs,
          this.keepPerSeries,
          prefixOf(key, decision.candleTs),
        ],
      ),
    );
    if (created === -1) throw new TransientError(`lock ${fence!.key} was lost before the decision for ${decision.symbol} at ${decision.candleTs} was recorded`, 'lock-lost');
    return created === 1;
  }

  /** Notes that a job (a later decision, or an analysis that needs this one's inventory) waits for the decision at `ts`. */
  async markWaiting(symbol: string, timeframe: string, ts: number, waiter: DecisionWaiter): Promise<void> {
    const series = marketKey(symbol);
    const key = this.keys.waitingSuccessor(series, timeframe, ts);
    await MARK_WAITING.run(this.redis, [key, this.keys.waitingIndex(series, timeframe)], [JSON.stringify([waiter.queue, waiter.jobId]), WAITING_TTL_S, ts, this.keepPerSeries, prefixOf(key, ts)]);
  }

  /** The jobs waiting for the decision at `ts`, once (the notes are removed). */
  async takeWaiting(symbol: string, timeframe: string, ts: number): Promise<DecisionWaiter[]> {
    const series = marketKey(symbol);
    const key = this.keys.waitingSuccessor(series, timeframe, ts);
    const result = await this.redis.multi().smembers(key).del(key).zrem(this.keys.waitingIndex(series, timeframe), String(ts)).exec();
    const members = (result?.[0]?.[1] as string[] | undefined) ?? [];
    return members.map((raw) => {
      const [queue, jobId] = JSON.parse(raw) as [string, string];
      return { queue, jobId };
    });
  }

  async get(symbol: string, timeframe: string, candleTs: number): Promise<StoredDecision | undefined> {
    const raw = await this.redis.get(this.keys.decision(marketKey(symbol), timeframe, candleTs));
    return raw === null ? undefined : (JSON.parse(raw) as StoredDecision);
  }

  async recent(count: number): Promise<StoredDecision[]> {
    const entries = await this.redis.xrevrange(this.keys.decisionLog, '+', '-', 'COUNT', count);
    return entries.map(([, fields]) => JSON.parse(fields[1]!) as StoredDecision);
  }

  /** Every decision still in the log, oldest first (tests and exports). */
  async all(): Promise<StoredDecision[]> {
    const entries = await this.redis.xrange(this.keys.decisionLog, '-', '+');
    return entries.map(([, fields]) => JSON.parse(fields[1]!) as StoredDecision);
  }
}
