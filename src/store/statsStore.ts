import type { Redis } from 'ioredis';
import type { Keyspace } from '../infra/keys.ts';

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
}

/** Per-instance health: successes and each kind of failure, and the last error. */
export class BotHealthStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  async success(instanceId: string, signal: string): Promise<void> {
    await this.redis.multi().hincrby(this.keys.botHealth(instanceId), 'ok', 1).hset(this.keys.botHealth(instanceId), 'lastSignal', signal).exec();
  }

  async failure(instanceId: string, kind: 'failed' | 'timedOut' | 'badOutput', message: string, now: number): Promise<void> {
    await this.redis
      .multi()
      .hincrby(this.keys.botHealth(instanceId), kind, 1)
      .hset(this.keys.botHealth(instanceId), 'lastError', message.slice(0, 500), 'lastErrorAt', String(now))
      .exec();
  }

  async get(instanceId: string): Promise<BotHealth> {
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
    };
  }
}
