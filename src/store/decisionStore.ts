import type { Redis } from 'ioredis';
import { marketKey } from '../core/market.ts';
import type { Keyspace } from '../infra/keys.ts';
import { TransientError } from '../core/errors.ts';
import type { Fence } from './lock.ts';
import { Script } from './script.ts';

/** How long one decision stays readable by key; the log below keeps the most recent ones. */
const DECISION_TTL_S = 7 * 86_400;
const DECISION_LOG_MAX = 10_000;
const WAITING_TTL_S = 3600;

/** A job parked until a decision is made: woken (promoted) by the job that makes it. */
export interface DecisionWaiter {
  queue: string;
  jobId: string;
}

/**
 * Records a decision only if none exists for that candle, counts it, and reserves its order as
 * pending in the ledger, in one step; with a fence, only while that lock is still held (-1 if not).
 */
const RECORD_ONCE = new Script(`
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[5] then return -1 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], 'decisions', 1)
  redis.call('HINCRBY', KEYS[2], 'decisions.' .. ARGV[4], 1)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[1])
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[5], ARGV[6], ARGV[7]) end
  return 1
end
return 0
`);

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
    /** About how many decisions the log stream keeps (MAXLEN ~: whole stream nodes are trimmed). */
    readonly logMax = DECISION_LOG_MAX,
  ) {}

  /**
   * True if this call recorded it; false if the candle already had a decision (a re-run job).
   * Throws a TransientError if the fence's lock was lost: the job retries and decides afresh.
   */
  async recordOnce(decision: StoredDecision, options: RecordOptions = {}): Promise<boolean> {
    const key = this.keys.decision(marketKey(decision.symbol), decision.timeframe, decision.candleTs);
    const { fence, pending } = options;
    const created = Number(
      await RECORD_ONCE.run(
        this.redis,
        [key, this.keys.counters, this.keys.decisionLog, fence?.key ?? key, pending?.key ?? key],
        [JSON.stringify(decision), DECISION_TTL_S, this.logMax, decision.action, fence?.token ?? '', pending?.field ?? '', pending?.value ?? ''],
      ),
    );
    if (created === -1) throw new TransientError(`lock ${fence!.key} was lost before the decision for ${decision.symbol} at ${decision.candleTs} was recorded`, 'lock-lost');
    return created === 1;
  }

  /** Notes that a job (a later decision, or an analysis that needs this one's inventory) waits for the decision at `ts`. */
  async markWaiting(symbol: string, timeframe: string, ts: number, waiter: DecisionWaiter): Promise<void> {
    const key = this.keys.waitingSuccessor(marketKey(symbol), timeframe, ts);
    await this.redis.multi().sadd(key, JSON.stringify([waiter.queue, waiter.jobId])).expire(key, WAITING_TTL_S).exec();
  }

  /** The jobs waiting for the decision at `ts`, once (the notes are removed). */
  async takeWaiting(symbol: string, timeframe: string, ts: number): Promise<DecisionWaiter[]> {
    const key = this.keys.waitingSuccessor(marketKey(symbol), timeframe, ts);
    const result = await this.redis.multi().smembers(key).del(key).exec();
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
