import type { Redis } from 'ioredis';
import { marketKey } from '../core/market.ts';
import type { Keyspace } from '../infra/keys.ts';
import { Script } from './script.ts';

/** How long one decision stays readable by key; the log below keeps the most recent ones. */
const DECISION_TTL_S = 7 * 86_400;
const DECISION_LOG_MAX = 10_000;

/** Records a decision only if none exists for that candle, and counts it, in one step. */
const RECORD_ONCE = new Script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], 'decisions', 1)
  redis.call('HINCRBY', KEYS[2], 'decisions.' .. ARGV[4], 1)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[1])
  return 1
end
return 0
`);

export interface StoredDecision {
  symbol: string;
  timeframe: string;
  candleTs: number;
  action: string;
  [field: string]: unknown;
}

export class DecisionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  /** True if this call recorded it; false if the candle already had a decision (a re-run job). */
  async recordOnce(decision: StoredDecision): Promise<boolean> {
    const key = this.keys.decision(marketKey(decision.symbol), decision.timeframe, decision.candleTs);
    const created = await RECORD_ONCE.run(
      this.redis,
      [key, this.keys.counters, this.keys.decisionLog],
      [JSON.stringify(decision), DECISION_TTL_S, DECISION_LOG_MAX, decision.action],
    );
    return Number(created) === 1;
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
