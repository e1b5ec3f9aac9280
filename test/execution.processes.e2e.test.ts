import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../src/store/auditLog.ts';
import { executionQueueName } from '../queues/names.ts';
import { freshPrefix, waitFor } from './helpers/pipeline.ts';
import { spawnWorker, startVenue, type TestVenue } from './helpers/venue.ts';

// Execution workers as real OS processes (`quorum worker`), against the mock exchange.

const children: ChildProcess[] = [];
const venues: TestVenue[] = [];

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGKILL');
    await exited(c);
  }
});
afterAll(async () => {
  for (const v of venues) await v.close();
});

describe('execution workers in separate processes', () => {
  it('finds an order after its worker was killed between sending it and recording it, and never places it twice', async () => {
    const prefix = freshPrefix('kill');
    // This process only enqueues; the orders are sent by worker processes.
    const venue = await startVenue(prefix, { queues: () => [] });
    venues.push(venue);
    const overrides = { 'queues.lockDurationMs': 2000, 'queues.stalledIntervalMs': 1000 };
    const id = 'qb-ETHBTC-killed-mid-send';
    let victim: ChildProcess | undefined;
    // The moment the create reaches the exchange, its sender dies; the exchange still places it.
    venue.mock.onRequest(async (r) => {
      if (r.method === 'POST' && r.path === '/api/v3/order' && r.params.newClientOrderId === id && victim) {
        victim.kill('SIGKILL');
        await exited(victim);
      }
    });
    victim = spawnWorker(prefix, venue.mock, overrides, [executionQueueName('binance')]);
    children.push(victim);
    await waitFor(async () => (await venue.ctx.queues.execution.getWorkersCount()) === 1, 30_000);
    await venue.send({ clientOrderId: id, amount: '0.3' });
    await waitFor(async () => victim!.signalCode === 'SIGKILL', 15_000);
    await waitFor(async () => venue.mock.ordersByClientId(id) === 1);
    // Killed before it could record anything: only the outbox says the order may exist.
    expect(await venue.ctx.ledger.getOrder(id)).toBeUndefined();
    expect(await venue.ctx.ledger.sendingOrder(id)).toMatchObject({ intent: { clientOrderId: id } });

    children.push(spawnWorker(prefix, venue.mock, overrides, [executionQueueName('binance')]));
    // Start-up reconciliation finds it at the venue and records it with its fill.
    await waitFor(async () => (await venue.ctx.ledger.getOrder(id))?.status === 'filled', 30_000);
    const audit = new AuditLog(venue.ctx.redis, venue.ctx.keys);
    await waitFor(async () => (await audit.entries()).some((e) => e.type === 'reconciled' && (e.data.adopted as string[]).includes(id)));
    // The stalled job comes back, sees the order, and places nothing.
    const job = await venue.settled(id, 30_000);
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toMatchObject({ duplicate: true, status: 'filled' });
    expect(venue.mock.ordersByClientId(id)).toBe(1);
    const posts = venue.mock.requests.filter((r) => r.method === 'POST' && r.params.newClientOrderId === id);
    expect(posts).toHaveLength(1);
    expect((await venue.ctx.ledger.fills()).filter((f) => f.clientOrderId === id)).toHaveLength(1);
  }, 90_000);

  it('keeps two worker processes together within the configured request rate', async () => {
    const prefix = freshPrefix('rate');
    const budget = { costPerSecond: 15, burst: 10 };
    const venue = await startVenue(prefix, { queues: () => [], config: { 'exchange.requestBudget': budget } });
    venues.push(venue);
    const overrides = { 'exchange.requestBudget': budget, 'workers.execution': 8 };
    for (let i = 0; i < 2; i++) children.push(spawnWorker(prefix, venue.mock, overrides, [executionQueueName('binance')]));
    await waitFor(async () => (await venue.ctx.queues.execution.getWorkersCount()) === 2, 30_000);
    venue.mock.clearRequests();
    const ids = Array.from({ length: 30 }, (_, i) => `qb-ETHBTC-rate-${i}`);
    const startedAt = Date.now();
    for (const id of ids) await venue.send({ clientOrderId: id, amount: '0.1' });
    for (const id of ids) expect(await (await venue.settled(id, 60_000)).getState()).toBe('completed');
    const seconds = (Date.now() - startedAt) / 1000;

    const done = await venue.ctx.queues.execution.getCompleted(0, 1000);
    const processes = new Set(done.filter((j) => ids.includes(j.id!)).map((j) => j.processedBy));
    expect(processes.size).toBe(2);
    for (const id of ids) expect(venue.mock.ordersByClientId(id)).toBe(1);
    // Each request costs at least 1, so no second holds more than the rate plus the burst, and
    // over the whole run the average stays under the rate (plus the initial burst).
    const total = venue.mock.requests.length;
    expect(venue.mock.requestsPerSecondMax(1000)).toBeLessThanOrEqual(budget.costPerSecond + budget.burst);
    expect(total).toBeLessThanOrEqual(budget.burst + budget.costPerSecond * seconds + 1);
    // The limit was what set the pace: 30 orders took their two requests each (create, trades) at that rate.
    expect(total).toBeGreaterThanOrEqual(60);
    expect(seconds).toBeGreaterThan((60 - budget.burst) / budget.costPerSecond - 0.5);
  }, 120_000);
});
