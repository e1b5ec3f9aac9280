import type { Redis } from 'ioredis';
import type { Keyspace } from '../infra/keys.ts';
import { BatchedHashWrites } from './batchedHashWrites.ts';

const REJECTION_LOG_MAX = 5_000;

export interface Rejection {
  what: 'candle' | 'payload' | 'trade';
  reason: string;
  detail: string;
  where: string;
}

/** Counters and the log of rejected input: what was refused, why, and where it came from. */
export class StatsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  async incr(field: string, by = 1): Promise<void> {
    await this.redis.hincrby(this.keys.counters, field, by);
  }

  async counters(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.counters);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  async reject(rejection: Rejection): Promise<void> {
    await this.redis
      .multi()
      .hincrby(this.keys.counters, `rejected.${rejection.what}`, 1)
      .hincrby(this.keys.counters, `rejected.${rejection.what}.${rejection.reason}`, 1)
      .xadd(this.keys.rejections, 'MAXLEN', '~', REJECTION_LOG_MAX, '*', 'r', JSON.stringify(rejection))
      .exec();
  }

  async rejections(count = 100): Promise<Rejection[]> {
    const entries = await this.redis.xrevrange(this.keys.rejections, '+', '-', 'COUNT', count);
    return entries.map(([, fields]) => JSON.parse(fields[1]!) as Rejection);
  }
}

export interface BotHealth {
  instanceId: string;
  ok: number;
  failed: number;
  timedOut: number;
  badOutput: number;
  lastError?: string | undefined;
  lastErrorAt?: number | undefined;
  lastSignal?: string | undefined;
  /** Failures in a row. */
  streak: number;
}

/** Why an instance is out of service, and since when. */
export interface Suspension {
  reason: string;
  at: number;
  by: string;
}

/**
 * Per-instance health: successes and each kind of failure, the last error, the current run of
 * failures; and who is out of service: quarantined (by its failures) or disabled (by a person).
 */
export class BotHealthStore {
  /** Successes, one per analysis job: written in batches, at most 200 ms late. */
  private readonly successes: BatchedHashWrites;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    onError: (error: Error) => void = () => undefined,
  ) {
    this.successes = new BatchedHashWrites(redis, onError);
  }

  success(instanceId: string, signal: string): void {
    const key = this.keys.botHealth(instanceId);
    this.successes.increment(key, 'ok', 1);
    this.successes.set(key, 'lastSignal', signal);
    this.successes.set(key, 'streak', '0');
  }

  /** Writes the successes not yet written. */
  flush(): Promise<void> {
    return this.successes.flush();
  }

  /** Records a failure; returns how many failures in a row the instance has now. */
  async failure(instanceId: string, kind: 'failed' | 'timedOut' | 'badOutput', message: string, now: number): Promise<number> {
    // Earlier successes first: they reset the run of failures this one extends.
    await this.successes.flush();
    const results = await this.redis
      .multi()
      .hincrby(this.keys.botHealth(instanceId), kind, 1)
      .hset(this.keys.botHealth(instanceId), 'lastError', message.slice(0, 500), 'lastErrorAt', String(now))
      .hincrby(this.keys.botHealth(instanceId), 'streak', 1)
      .exec();
    return Number(results?.[2]?.[1] ?? 0);
  }

  /** Takes an instance out of service; true only for the call that did it (so one alert is sent). */
  async quarantine(instanceId: string, suspension: Suspension): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.quarantine, instanceId, JSON.stringify(suspension))) === 1;
  }

  /** Puts a quarantined or disabled instance back in service, with a clean run of failures. */
  async release(instanceId: string): Promise<{ wasQuarantined: boolean; wasDisabled: boolean }> {
    const [q, d] = (await this.redis
      .multi()
      .hdel(this.keys.quarantine, instanceId)
      .hdel(this.keys.disabled, instanceId)
      .hset(this.keys.botHealth(instanceId), 'streak', 0)
      .exec())!;
    return { wasQuarantined: Number(q?.[1]) === 1, wasDisabled: Number(d?.[1]) === 1 };
  }

  /** Lifts a person's disable only (a quarantine stays); true if the instance was disabled. */
  async enable(instanceId: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.disabled, instanceId)) === 1;
  }

  /** Lifts a quarantine only (a person's disable stays), with a clean run of failures; true if it was quarantined. */
  async resetQuarantine(instanceId: string): Promise<boolean> {
    const [q] = (await this.redis.multi().hdel(this.keys.quarantine, instanceId).hset(this.keys.botHealth(instanceId), 'streak', 0).exec())!;
    return Number(q?.[1]) === 1;
  }

  async disable(instanceId: string, suspension: Suspension): Promise<void> {
    await this.redis.hset(this.keys.disabled, instanceId, JSON.stringify(suspension));
  }

  /** Instances out of service, by why. */
  async suspended(): Promise<{ quarantined: Record<string, Suspension>; disabled: Record<string, Suspension> }> {
    const [q, d] = await Promise.all([this.redis.hgetall(this.keys.quarantine), this.redis.hgetall(this.keys.disabled)]);
    const parse = (raw: Record<string, string>) => Object.fromEntries(Object.entries(raw).map(([id, v]) => [id, JSON.parse(v) as Suspension]));
    return { quarantined: parse(q), disabled: parse(d) };
  }

  async get(instanceId: string): Promise<BotHealth> {
    await this.successes.flush(); // this process reads its own successes
    const raw = await this.redis.hgetall(this.keys.botHealth(instanceId));
    return {
      instanceId,
      ok: Number(raw.ok ?? 0),
      failed: Number(raw.failed ?? 0),
      timedOut: Number(raw.timedOut ?? 0),
      badOutput: Number(raw.badOutput ?? 0),
      lastError: raw.lastError,
      lastErrorAt: raw.lastErrorAt === undefined ? undefined : Number(raw.lastErrorAt),
      lastSignal: raw.lastSignal,
      streak: Number(raw.streak ?? 0),
    };
  }
}
