import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Keyspace } from '../infra/keys.ts';
import { Script } from './script.ts';

/**
 * SET NX PX, except that the owner who set the key may claim it again: a notification job retried
 * after a crash is still the first of its kind, not its own duplicate. 1 = send, 0 = duplicate.
 */
const CLAIM = new Script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`);

/**
 * Takes the pending digest for one flush: moved (RENAME, atomic) to a key of that flush, so that
 * events pushed meanwhile go to the next digest and a retried flush finds the same items.
 */
const TAKE_DIGEST = new Script(`
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return redis.call('LRANGE', KEYS[2], 0, -1)
`);

/** A flush that never finishes leaves its key for a week at most. */
const FLUSH_TTL_MS = 7 * 86_400_000;

const WorkerSeen = z.record(z.string(), z.object({ lastSeen: z.number(), lost: z.boolean() }).strict());
export type WorkerSeen = z.infer<typeof WorkerSeen>;

const SummaryState = z.object({ day: z.string(), counters: z.record(z.string(), z.number()), equity: z.record(z.string(), z.string()) }).strict();
export type SummaryState = z.infer<typeof SummaryState>;

/** Redis state of the notifications queue: duplicate claims, the digest, the monitor's memory. */
export class NotifyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  /** True when this is the first notification with this dedupe hash within `windowMs` (or `owner` claimed it before). */
  async claim(hash: string, owner: string, windowMs: number): Promise<boolean> {
    if (windowMs <= 0) return true;
    return (await CLAIM.run(this.redis, [this.keys.notifyDedupe(hash)], [owner, windowMs])) === 1;
  }

  /** Adds an event to the next digest; the list keeps its newest `max` events. */
  async pushDigest(item: unknown, max: number): Promise<void> {
    await this.redis.multi().rpush(this.keys.notifyDigest, JSON.stringify(item)).ltrim(this.keys.notifyDigest, -max, -1).exec();
  }

  async takeDigest(flushId: string): Promise<unknown[]> {
    const raw = (await TAKE_DIGEST.run(this.redis, [this.keys.notifyDigest, this.keys.notifyDigestFlush(flushId)], [FLUSH_TTL_MS])) as string[];
    return raw.flatMap((r) => {
      try {
        return [JSON.parse(r) as unknown];
      } catch {
        return [];
      }
    });
  }

  async finishDigest(flushId: string): Promise<void> {
    await this.redis.del(this.keys.notifyDigestFlush(flushId));
  }

  async pendingDigestLength(): Promise<number> {
    return this.redis.llen(this.keys.notifyDigest);
  }

  async drawdownLevels(account: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.notifyDrawdown(account));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v) || 0]));
  }

  async setDrawdownLevel(account: string, quote: string, level: number): Promise<void> {
    await this.redis.hset(this.keys.notifyDrawdown(account), quote, level);
  }

  async workersSeen(): Promise<WorkerSeen> {
    const raw = await this.redis.get(this.keys.notifyWorkers);
    const parsed = raw ? WorkerSeen.safeParse(JSON.parse(raw)) : undefined;
    return parsed?.success ? parsed.data : {};
  }

  async setWorkersSeen(seen: WorkerSeen): Promise<void> {
    await this.redis.set(this.keys.notifyWorkers, JSON.stringify(seen));
  }

  async lastSummary(account: string): Promise<SummaryState | undefined> {
    const raw = await this.redis.get(this.keys.notifySummary(account));
    const parsed = raw ? SummaryState.safeParse(JSON.parse(raw)) : undefined;
    return parsed?.success ? parsed.data : undefined;
  }

  async setLastSummary(account: string, state: SummaryState): Promise<void> {
    await this.redis.set(this.keys.notifySummary(account), JSON.stringify(state));
  }
}
