import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerStore } from '../src/store/breakerStore.ts';
import { freshPrefix, waitFor } from './helpers/pipeline.ts';
import { startVenue, type TestVenue } from './helpers/venue.ts';

// The circuit breaker shared through Redis, with two execution workers, against the mock exchange.

describe('circuit breaker of an exchange account', () => {
  const prefix = freshPrefix('breaker');
  let venue: TestVenue;
  const policy = { failureThreshold: 3, windowMs: 10_000, cooldownMs: 600, maxCooldownMs: 1500 };

  beforeAll(async () => {
    venue = await startVenue(prefix, { config: { 'execution.breaker': policy } });
    await venue.addWorker();
  }, 30_000);
  afterAll(async () => venue?.close());

  it('opens under sustained failure, stops every worker from sending, alerts, and closes after the venue recovers', async () => {
    const { mock, ctx } = venue;
    const breaker = new BreakerStore(ctx.redis, ctx.keys, 'binance', policy);
    // Every request is cut (and recorded, so that what was attempted while open is visible).
    mock.inject({ kind: 'down', always: true, match: '*' });
    const ids = ['qb-ETHBTC-brk-1', 'qb-ETHBTC-brk-2', 'qb-ETHBTC-brk-3'];
    for (const id of ids) await venue.send({ clientOrderId: id, amount: '0.1' });

    await waitFor(async () => (await breaker.state()).status !== 'closed', 15_000);
    const openedAt = Date.now();
    expect(await ctx.queues.execution.isPaused()).toBe(true);
    await waitFor(async () => {
      const alerts = await ctx.queues.notifications.getJobs(['waiting', 'prioritized']);
      return alerts.some((a) => a.data.event === 'breaker.opened' && a.data.priority === 'critical');
    });

    // While it is open nobody sends an order: only the prober asks the venue (for the balance).
    await new Promise((r) => setTimeout(r, 2000));
    const sentWhileOpen = mock.requests.filter((r) => r.ts > openedAt + 200 && r.method === 'POST');
    expect(sentWhileOpen).toEqual([]);
    expect(mock.requests.some((r) => r.ts > openedAt && r.path === '/api/v3/account')).toBe(true);
    for (const id of ids) expect(mock.ordersByClientId(id)).toBe(0);

    expect(mock.requests.filter((r) => r.ts <= openedAt && r.method === 'POST').length).toBeGreaterThan(0);
    mock.clearFaults();
    for (const id of ids) expect(await (await venue.settled(id, 20_000)).getState()).toBe('completed');
    expect((await breaker.state()).status).toBe('closed');
    expect(await ctx.queues.execution.isPaused()).toBe(false);
    for (const id of ids) expect(mock.ordersByClientId(id)).toBe(1);
    const alerts = await ctx.queues.notifications.getJobs(['waiting', 'prioritized']);
    expect(alerts.some((a) => a.data.event === 'breaker.closed')).toBe(true);
    const counters = await ctx.stats.counters();
    expect(counters['breaker.opened']).toBe(1);
    expect(counters['breaker.closed']).toBe(1);
  }, 60_000);
});
