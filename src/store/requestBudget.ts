import type { Redis } from 'ioredis';
import { PermanentError } from '../core/errors.ts';
import type { Keyspace } from '../infra/keys.ts';
import { Script } from './script.ts';

export interface BudgetSettings {
  /** ccxt cost units per second, for every process together. */
  costPerSecond: number;
  /** Cost that may be spent at once after an idle spell; at least the largest single cost. */
  burst: number;
}

export interface BackOffState {
  /** Epoch ms on the Redis clock. */
  until: number;
  reason: string;
}

/** Idle keys outlive their last use by this much; an expired budget is the same as an idle one. */
const IDLE_MARGIN_MS = 1000;

/**
 * GCRA on the Redis clock (hosts' clocks differ). KEYS[1]: theoretical arrival time (ms), KEYS[2]:
 * the back-off hash, which expires at its `until`. ARGV: cost, interval (ms per cost unit), burst.
 * Returns { reserved (1) or back-off (0), ms to wait }. During a back-off nothing is reserved, so
 * waiters that give up waste nothing and all of them reserve afresh once it has passed.
 */
const TAKE = new Script(`
local backoff = redis.call('PTTL', KEYS[2])
if backoff > 0 then return { 0, backoff } end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local cost = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nextTat = tat + cost * interval
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + ${IDLE_MARGIN_MS})
local wait = nextTat - burst * interval - now
if wait < 0 then wait = 0 end
return { 1, math.ceil(wait) }
`);

/**
 * Extends the back-off to now + ARGV[1] ms (never shortens it) and empties the bucket up to then,
 * so that traffic resumes at the steady rate rather than with a burst that would provoke another
 * 429. ARGV: ms, reason, interval, burst. Returns the back-off's end (epoch ms, Redis clock).
 */
const BACK_OFF = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + math.ceil(tonumber(ARGV[1]))
local current = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')
if redis.call('PTTL', KEYS[2]) > 0 and current >= untilMs then return current end
redis.call('HSET', KEYS[2], 'until', untilMs, 'reason', ARGV[2])
redis.call('PEXPIREAT', KEYS[2], untilMs)
local drained = untilMs + tonumber(ARGV[4]) * tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < drained then
  redis.call('SET', KEYS[1], string.format('%.3f', drained), 'PX', math.ceil(drained - now) + ${IDLE_MARGIN_MS})
end
return untilMs
`);

export function validateBudgetSettings(settings: BudgetSettings): BudgetSettings {
  const { costPerSecond, burst } = settings;
  if (typeof costPerSecond !== 'number' || !Number.isFinite(costPerSecond) || costPerSecond <= 0) {
    throw new RangeError(`request budget: costPerSecond must be a positive finite number, got ${String(costPerSecond)}`);
  }
  if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1) {
    throw new RangeError(`request budget: burst must be a finite number of at least 1 (the largest single request cost), got ${String(burst)}`);
  }
  return { costPerSecond, burst };
}

/**
 * The request-weight budget of one exchange account, shared by every process on every host
 * (ccxt's own limiter only sees its own process). Each REST call takes its ccxt cost here first.
 * Guarantee: the cost spent in any window of T ms is at most burst + costPerSecond * T / 1000.
 */
export class RequestBudget {
  private readonly settings: BudgetSettings;
  private readonly interval: number;
  private readonly sleep: ((ms: number) => Promise<void>) | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly account: string,
    settings: BudgetSettings,
    options: { sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.settings = validateBudgetSettings(settings);
    this.interval = 1000 / this.settings.costPerSecond;
    this.sleep = options.sleep;
  }

  /**
   * Waits until `cost` may be spent under the shared budget (and any shared back-off has passed),
   * then spends it. A cost above the burst could never be spent within the guarantee, so it is
   * refused (a configuration error: raise the burst). An abort rejects with the signal's reason;
   * a slot already reserved is then lost, which can only under-use the budget.
   */
  async take(cost = 1, signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(cost) || cost < 0) throw new RangeError(`request budget: cost must be a finite number >= 0, got ${cost}`);
    if (cost > this.settings.burst) {
      throw new PermanentError(`request cost ${cost} exceeds the burst of ${this.settings.burst} of account ${this.account}'s request budget: raise exchange.requestBudget.burst`, 'budget-cost-exceeds-burst');
    }
    const keys = [this.keys.requestBudget(this.account), this.keys.requestBackOff(this.account)];
    for (;;) {
      signal?.throwIfAborted();
      const [reserved, wait] = (await TAKE.run(this.redis, keys, [cost, this.interval, this.settings.burst])) as [number, number];
      if (wait > 0) await pause(wait, signal, this.sleep);
      if (reserved !== 1) continue;
      if (wait === 0) return;
      // A back-off that began while we slept voids the slot: everyone waits it out, then reserves afresh.
      if ((await this.redis.pttl(keys[1]!)) <= 0) return;
    }
  }

  /**
   * Makes every process wait `ms` from now (Redis clock) before its next request, e.g. on a 429 or
   * 418 with Retry-After. Only extends a back-off, never shortens it; the reason of the longest wins.
   */
  async backOff(ms: number, reason: string): Promise<{ until: number }> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`request budget: back-off must be a finite number of ms >= 0, got ${ms}`);
    const keys = [this.keys.requestBudget(this.account), this.keys.requestBackOff(this.account)];
    const until = await BACK_OFF.run(this.redis, keys, [ms, reason, this.interval, this.settings.burst]);
    return { until: Number(until) };
  }

  async backOffState(): Promise<BackOffState | undefined> {
    const key = this.keys.requestBackOff(this.account);
    const [[, ttl], [, fields]] = (await this.redis.multi().pttl(key).hgetall(key).exec()) as [[null, number], [null, Record<string, string>]];
    if (ttl <= 0 || fields.until === undefined) return undefined;
    return { until: Number(fields.until), reason: fields.reason ?? '' };
  }
}

function pause(ms: number, signal: AbortSignal | undefined, sleep: ((ms: number) => Promise<void>) | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (error?: unknown) => {
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    if (sleep) sleep(ms).then(() => settle(), (error: unknown) => settle(error ?? new Error('sleep failed')));
    else timer = setTimeout(settle, ms);
  });
}
