import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { PermanentError } from '../core/errors.ts';
import { keyspace } from '../infra/keys.ts';
import { createRedis, deleteDeploymentKeys, type Redis } from '../infra/redis.ts';
import { RequestBudget, type BudgetSettings } from './requestBudget.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACCOUNT = 'binance-main';

let prefix = '';
const clients: Redis[] = [];

function connect(): Redis {
  const redis = createRedis(inject('redisUrl'));
  clients.push(redis);
  return redis;
}

/** A budget of this test's deployment on its own connection, as another process would have. */
function budget(settings: BudgetSettings, options: { sleep?: (ms: number) => Promise<void> } = {}): RequestBudget {
  return new RequestBudget(connect(), keyspace(prefix), ACCOUNT, settings, options);
}

function freshPrefix(): string {
  prefix = `t-budget-${randomBytes(4).toString('hex')}`;
  return prefix;
}

afterEach(async () => {
  if (clients[0]) await deleteDeploymentKeys(clients[0], prefix);
  await Promise.all(clients.splice(0).map((c) => c.quit()));
});

interface Spend {
  at: number;
  cost: number;
}

/** The largest amount by which any window [spend i, spend j] exceeds burst + rate × its length. */
function worstExcess(spends: Spend[], { costPerSecond, burst }: BudgetSettings): number {
  const sorted = [...spends].sort((a, b) => a.at - b.at);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0;
    for (let j = i; j < sorted.length; j++) {
      sum += sorted[j]!.cost;
      worst = Math.max(worst, sum - (burst + (costPerSecond * (sorted[j]!.at - sorted[i]!.at)) / 1000));
    }
  }
  return worst;
}

const now = () => performance.timeOrigin + performance.now();
const COSTS = [1, 2, 1, 1, 2, 1, 2, 2, 1, 1];

describe('RequestBudget', () => {
  it('keeps the cost spent in any window within burst + rate × window, for two connections taking at once', async () => {
    freshPrefix();
    const settings = { costPerSecond: 20, burst: 3 };
    const processes = [budget(settings), budget(settings)];
    const spends: Spend[] = [];
    const start = now();
    // Two "processes", each with two concurrent callers, each taking the same mix of costs.
    await Promise.all(
      processes.flatMap((b) =>
        [0, 1].map(async () => {
          for (const cost of COSTS) {
            await b.take(cost);
            spends.push({ at: now(), cost });
          }
        }),
      ),
    );
    const total = spends.reduce((s, x) => s + x.cost, 0);
    expect(total).toBe(56);
    // +1 cost unit: timers fire a little late, which can bunch spends by up to 1000 / rate ms.
    expect(worstExcess(spends, settings)).toBeLessThanOrEqual(1);
    // And it does not stall: the whole lot takes about (total - burst) / rate.
    const elapsed = Math.max(...spends.map((s) => s.at)) - start;
    expect(elapsed).toBeGreaterThanOrEqual(((total - settings.burst) / settings.costPerSecond) * 1000 - 50);
    expect(elapsed).toBeLessThan(((total - settings.burst) / settings.costPerSecond) * 1000 + 1000);
  });

  it('keeps two real processes together within the budget', async () => {
    freshPrefix();
    const settings = { costPerSecond: 12, burst: 4 };
    const child = `
      import { createInterface } from 'node:readline';
      const { RequestBudget } = await import(process.env.BUDGET_MODULE);
      const { keyspace } = await import(process.env.KEYS_MODULE);
      const { Redis } = await import('ioredis');
      const redis = new Redis(process.env.REDIS_URL);
      const budget = new RequestBudget(redis, keyspace(process.env.PREFIX), ${JSON.stringify(ACCOUNT)}, ${JSON.stringify(settings)});
      await redis.ping();
      console.log('ready');
      const lines = createInterface({ input: process.stdin });
      for await (const _ of lines) break;
      const spends = [];
      for (const cost of ${JSON.stringify(COSTS)}) {
        await budget.take(cost);
        spends.push({ at: performance.timeOrigin + performance.now(), cost });
      }
      console.log(JSON.stringify(spends));
      await redis.quit();
      process.exit(0);
    `;
    const env = {
      ...process.env,
      REDIS_URL: inject('redisUrl'),
      PREFIX: prefix,
      BUDGET_MODULE: new URL('./requestBudget.ts', import.meta.url).href,
      KEYS_MODULE: new URL('../infra/keys.ts', import.meta.url).href,
    };
    const children = [0, 1].map(() => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'inherit'] }));
    try {
      const outputs = children.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
      for (const out of outputs) expect((await out.next()).value).toBe('ready');
      for (const c of children) c.stdin!.write('go\n');
      const spends = (await Promise.all(outputs.map(async (out) => JSON.parse((await out.next()).value as string) as Spend[]))).flat();
      await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
      expect(spends.reduce((s, x) => s + x.cost, 0)).toBe(28);
    expect(worstExcess(spends, settings)).toBeLessThanOrEqual(1);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    }
  });

  it('makes every taker wait out a back-off, which only ever extends and keeps the reason of the longest', async () => {
    freshPrefix();
    const settings = { costPerSecond: 1000, burst: 10 };
    const [a, b] = [budget(settings), budget(settings)];
    const first = await a.backOff(500, '429 Too Many Requests, Retry-After 0.5');
    expect(await b.backOffState()).toEqual({ until: first.until, reason: '429 Too Many Requests, Retry-After 0.5' });

    const shorter = await b.backOff(100, 'a shorter one');
    expect(shorter.until).toBe(first.until);
    expect((await a.backOffState())?.reason).toBe('429 Too Many Requests, Retry-After 0.5');

    const start = now();
    await b.take();
    expect(now() - start).toBeGreaterThanOrEqual(480);
    expect(await a.backOffState()).toBeUndefined();

    const longer = await a.backOff(300, '418 banned');
    const longest = await a.backOff(600, '418 banned for longer');
    expect(longest.until).toBeGreaterThan(longer.until);
    expect(await b.backOffState()).toEqual({ until: longest.until, reason: '418 banned for longer' });
  });

  it('makes a caller already waiting for its slot also wait out a back-off that begins meanwhile', async () => {
    freshPrefix();
    const settings = { costPerSecond: 2, burst: 1 };
    const [a, b] = [budget(settings), budget(settings)];
    const start = now();
    await a.take();
    const waiting = b.take().then(() => now() - start);
    await new Promise((r) => setTimeout(r, 100));
    await a.backOff(800, '429');
    // Slot at 500 ms, voided by the back-off to ~900 ms; then one interval of 500 ms at the steady rate.
    expect(await waiting).toBeGreaterThanOrEqual(1350);
  });

  it('resumes at the steady rate after a back-off, not with a burst', async () => {
    freshPrefix();
    const settings = { costPerSecond: 10, burst: 5 };
    const b = budget(settings);
    const start = now();
    await b.backOff(300, '429');
    const times = await Promise.all(Array.from({ length: 5 }, () => b.take().then(() => now() - start)));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(380);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(380);
  });

  it('refuses a single cost above the burst, which no wait could make fit', async () => {
    freshPrefix();
    const b = budget({ costPerSecond: 100, burst: 5 });
    await expect(b.take(6)).rejects.toThrow(PermanentError);
    await expect(b.take(6)).rejects.toThrow(/cost 6 exceeds the burst of 5 .*raise exchange\.requestBudget\.burst/);
    await expect(b.take(Number.NaN)).rejects.toThrow(RangeError);
    await expect(b.take(5)).resolves.toBeUndefined();
  });

  it('rejects settings that are not positive and finite, or a burst below 1, saying which', () => {
    freshPrefix();
    const redis = connect();
    const make = (settings: BudgetSettings) => () => new RequestBudget(redis, keyspace(prefix), ACCOUNT, settings);
    expect(make({ costPerSecond: 0, burst: 1 })).toThrow(/costPerSecond must be a positive finite number, got 0/);
    expect(make({ costPerSecond: Number.POSITIVE_INFINITY, burst: 1 })).toThrow(/costPerSecond/);
    expect(make({ costPerSecond: 10, burst: 0.5 })).toThrow(/burst must be a finite number of at least 1/);
    expect(make({ costPerSecond: 10, burst: Number.NaN })).toThrow(/burst/);
  });

  it('stops waiting when the signal aborts, with the signal’s reason', async () => {
    freshPrefix();
    const b = budget({ costPerSecond: 100, burst: 1 });
    await b.backOff(5000, '418');
    const controller = new AbortController();
    const start = now();
    setTimeout(() => controller.abort(new Error('job cancelled')), 50);
    await expect(b.take(1, controller.signal)).rejects.toThrow('job cancelled');
    expect(now() - start).toBeLessThan(1000);
    await expect(b.take(1, AbortSignal.abort(new Error('already gone')))).rejects.toThrow('already gone');
  });

  it('sleeps through the injected sleep', async () => {
    freshPrefix();
    const slept: number[] = [];
    const b = budget({ costPerSecond: 10, burst: 1 }, { sleep: (ms) => (slept.push(ms), new Promise((r) => setTimeout(r, ms))) });
    await b.take();
    await b.take();
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(0);
    expect(slept[0]).toBeLessThanOrEqual(100);
  });

  it('leaves nothing behind once idle', async () => {
    freshPrefix();
    const b = budget({ costPerSecond: 100, burst: 2 });
    await b.take(2);
    await b.backOff(50, '429');
    const redis = clients[0]!;
    const keys = keyspace(prefix);
    const ttl = await redis.pttl(keys.requestBudget(ACCOUNT));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1100);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await redis.keys(`${keys.root}*`)).toEqual([]);
  });
});
