import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TransientError } from '../core/errors.ts';
import { stepBreaker, validateBreakerPolicy, type BreakerEvent, type BreakerPolicy, type BreakerState, type BreakerStep } from '../exchange/breaker.ts';
import type { Keyspace } from '../infra/keys.ts';
import { Script } from './script.ts';

const MAX_ATTEMPTS = 100;

/**
 * Compare-and-set: writes ARGV[2] (state JSON) under the new version ARGV[3] only if the stored
 * version is still ARGV[1] ('' for no record). A random version rather than a counter, so that a
 * record that expired and was written again can never pass for the one read (ABA).
 * ARGV[4]: ms to live (0: for ever). Returns 1 when written, 0 when someone else wrote first.
 */
const COMPARE_AND_SET = new Script(`
local v = redis.call('HGET', KEYS[1], 'v') or ''
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'state', ARGV[2])
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
`);

const StoredState = z.object({
  status: z.enum(['closed', 'open', 'half-open']),
  failures: z.array(z.number()),
  openedAt: z.number().optional(),
  cooldownMs: z.number().optional(),
  reason: z.string().optional(),
  probeStartedAt: z.number().optional(),
});

/**
 * The circuit breaker of one exchange account, shared by every process: each event is applied
 * with stepBreaker under compare-and-set, so no process loses another's failure, and exactly one
 * caller is handed each transition (it alerts and pauses or resumes the queue). Not WATCH/MULTI:
 * WATCH belongs to a connection, and ours are shared by concurrent callers.
 */
export class BreakerStore {
  private readonly policy: BreakerPolicy;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly account: string,
    policy: BreakerPolicy,
  ) {
    this.policy = validateBreakerPolicy(policy);
  }

  async state(): Promise<BreakerState> {
    return (await this.read()).state;
  }

  /** Applies `event` atomically across processes; `transition` is set only for the caller that caused it. */
  async record(event: BreakerEvent): Promise<BreakerStep> {
    const key = this.keys.breaker(this.account);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { state, version } = await this.read();
      const step = stepBreaker(state, event, this.policy);
      const json = JSON.stringify(step.state);
      // Nothing changed (a refused probe, a success while closed): the state read is the answer.
      if (step.transition === undefined && json === JSON.stringify(state)) return step;
      const written = await COMPARE_AND_SET.run(this.redis, [key], [version, json, randomUUID(), this.ttlOf(step.state)]);
      if (Number(written) === 1) return step;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** attempt, 20)));
    }
    throw new TransientError(`breaker of ${this.account}: ${MAX_ATTEMPTS} concurrent updates in a row lost the race`, 'breaker-contention');
  }

  /** A closed record holds only failures that leave the window; an open one must outlive any cooldown. */
  private ttlOf(state: BreakerState): number {
    return state.status === 'closed' ? Math.ceil(this.policy.windowMs) : 0;
  }

  private async read(): Promise<{ state: BreakerState; version: string }> {
    const [version, raw] = await this.redis.hmget(this.keys.breaker(this.account), 'v', 'state');
    if (raw === null || raw === undefined) return { state: { status: 'closed', failures: [] }, version: version ?? '' };
    let parsed: z.ZodSafeParseResult<BreakerState> | undefined;
    try {
      parsed = StoredState.safeParse(JSON.parse(raw));
    } catch {
      parsed = undefined;
    }
    if (parsed?.success) return { state: parsed.data, version: version ?? '' };
    // An unreadable record must not let orders through unchecked: open, probe-able at once.
    const why = parsed ? parsed.error.issues[0]?.message : 'not JSON';
    return { state: { status: 'open', failures: [], openedAt: 0, cooldownMs: this.policy.cooldownMs, reason: `stored breaker state is unreadable: ${why}` }, version: version ?? '' };
  }
}
