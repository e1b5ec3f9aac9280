import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { BreakerPolicy, BreakerStep } from '../exchange/breaker.ts';
import { keyspace } from '../infra/keys.ts';
import { createRedis, deleteDeploymentKeys, type Redis } from '../infra/redis.ts';
import { BreakerStore } from './breakerStore.ts';

const ACCOUNT = 'binance-main';
const policy: BreakerPolicy = { failureThreshold: 20, windowMs: 60_000, cooldownMs: 1000, maxCooldownMs: 3000 };

let prefix = '';
const clients: Redis[] = [];

/** A store on its own connection, as another worker process would have. */
function store(p = policy): BreakerStore {
  const redis = createRedis(inject('redisUrl'));
  clients.push(redis);
  return new BreakerStore(redis, keyspace(prefix), ACCOUNT, p);
}

function fresh(): void {
  prefix = `t-breaker-${randomBytes(4).toString('hex')}`;
}

afterEach(async () => {
  if (clients[0]) await deleteDeploymentKeys(clients[0], prefix);
  await Promise.all(clients.splice(0).map((c) => c.quit()));
});

const transitions = (steps: BreakerStep[]) => steps.flatMap((s) => (s.transition ? [s.transition] : []));

/** Opens the breaker at `at` with `policy.failureThreshold` failures. */
async function openAt(s: BreakerStore, at: number, threshold = policy.failureThreshold): Promise<void> {
  for (let i = 0; i < threshold; i++) await s.record({ type: 'failure', at, reason: 'exchange not available' });
  expect((await s.state()).status).toBe('open');
}

describe('BreakerStore', () => {
  it('starts closed with nothing recorded', async () => {
    fresh();
    expect(await store().state()).toEqual({ status: 'closed', failures: [] });
  });

  it('counts every failure of two processes recording at once, and hands out "opened" exactly once', async () => {
    fresh();
    const [a, b] = [store(), store()];
    // 10 + 9 concurrent failures: one lost update would leave it closed at 19 of 20.
    const t0 = 1_000_000;
    const almost = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => a.record({ type: 'failure', at: t0 + i, reason: `a${i}` })),
      ...Array.from({ length: 9 }, (_, i) => b.record({ type: 'failure', at: t0 + i, reason: `b${i}` })),
    ]);
    expect(transitions(almost)).toEqual([]);
    expect((await a.state()).failures).toHaveLength(19);

    const steps = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => a.record({ type: 'failure', at: t0 + 100 + i, reason: 'a late' })),
      ...Array.from({ length: 10 }, (_, i) => b.record({ type: 'failure', at: t0 + 100 + i, reason: 'b late' })),
    ]);
    expect(transitions(steps)).toEqual(['opened']);
    expect((await b.state()).status).toBe('open');
  });

  it('allows a probe only once the cooldown has passed', async () => {
    fresh();
    const s = store();
    await openAt(s, 5000);
    expect((await s.record({ type: 'probe', at: 5999 })).transition).toBeUndefined();
    expect((await s.state()).status).toBe('open');
    const step = await s.record({ type: 'probe', at: 6000 });
    expect(step.transition).toBe('half-opened');
    expect(await s.state()).toMatchObject({ status: 'half-open', probeStartedAt: 6000 });
  });

  it('lets only one of two processes probing at once become the prober', async () => {
    fresh();
    const [a, b] = [store(), store()];
    await openAt(a, 5000);
    for (let round = 0; round < 5; round++) {
      // Each round, the stale probe of the round before may be taken over, by one process only.
      const at = 10_000 + round * 2000;
      const steps = await Promise.all([a.record({ type: 'probe', at }), b.record({ type: 'probe', at }), a.record({ type: 'probe', at }), b.record({ type: 'probe', at })]);
      expect(transitions(steps)).toEqual(['half-opened']);
    }
  });

  it('closes when the probe succeeds, handing out "closed" once', async () => {
    fresh();
    const [a, b] = [store(), store()];
    await openAt(a, 5000);
    await a.record({ type: 'probe', at: 6000 });
    const steps = await Promise.all([a.record({ type: 'success', at: 6100 }), b.record({ type: 'success', at: 6100 })]);
    expect(transitions(steps)).toEqual(['closed']);
    expect(await b.state()).toEqual({ status: 'closed', failures: [] });
  });

  it('doubles the cooldown when the probe fails, up to the maximum', async () => {
    fresh();
    const s = store();
    await openAt(s, 5000);
    expect((await s.record({ type: 'probe', at: 6000 })).transition).toBe('half-opened');
    expect((await s.record({ type: 'failure', at: 6100, reason: 'still down' })).transition).toBe('reopened');
    expect(await s.state()).toEqual({ status: 'open', failures: [], openedAt: 6100, cooldownMs: 2000, reason: 'still down' });
    expect((await s.record({ type: 'probe', at: 8099 })).transition).toBeUndefined();
    expect((await s.record({ type: 'probe', at: 8100 })).transition).toBe('half-opened');
    await s.record({ type: 'failure', at: 8200, reason: 'still down' });
    expect((await s.state()).cooldownMs).toBe(3000);
  });

  it('keeps an open breaker for ever but lets a closed record expire with its window', async () => {
    fresh();
    const s = store({ ...policy, failureThreshold: 2, windowMs: 5000 });
    const redis = clients[0]!;
    const key = keyspace(prefix).breaker(ACCOUNT);
    await s.record({ type: 'failure', at: 1, reason: 'x' });
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5000);
    await s.record({ type: 'failure', at: 2, reason: 'x' });
    expect(await redis.pttl(key)).toBe(-1);
  });

  it('treats an unreadable record as open, so that it heals through a probe instead of trading blind', async () => {
    fresh();
    const s = store();
    await clients[0]!.hset(keyspace(prefix).breaker(ACCOUNT), 'v', 'x', 'state', '{"status":"sideways"');
    expect(await s.state()).toMatchObject({ status: 'open', reason: expect.stringMatching(/unreadable/) });
    expect((await s.record({ type: 'probe', at: 1_000_000 })).transition).toBe('half-opened');
    expect((await s.record({ type: 'success', at: 1_000_001 })).transition).toBe('closed');
  });

  it('rejects a policy that makes no sense', () => {
    fresh();
    expect(() => store({ ...policy, cooldownMs: 0 })).toThrow(/cooldownMs/);
  });
});
