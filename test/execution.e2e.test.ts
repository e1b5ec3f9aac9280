import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECONCILE_JOB } from '../processors/execution.ts';
import { AuditLog } from '../src/store/auditLog.ts';
import type { Fault, MockBinance } from './mockExchange/mockBinance.ts';
import { freshPrefix, waitFor } from './helpers/pipeline.ts';
import { startVenue, type TestVenue } from './helpers/venue.ts';

// The execution stage on the real ccxt binance class, over HTTP, against the mock exchange.

/** Every POST /api/v3/order the mock received for this client order id. */
function creates(mock: MockBinance, clientOrderId: string): number {
  return mock.requests.filter((r) => r.method === 'POST' && r.path === '/api/v3/order' && r.params.newClientOrderId === clientOrderId).length;
}

/** The venue's trades of one order, summed, beside the ledger's fills of it. */
async function fillsAgree(venue: TestVenue, clientOrderId: string): Promise<void> {
  const order = venue.mock.orders().find((o) => o.clientOrderId === clientOrderId)!;
  const trades = venue.mock.trades().filter((t) => String(t.orderId) === String(order.orderId));
  const fills = (await venue.ctx.ledger.fills()).filter((f) => f.clientOrderId === clientOrderId);
  const sum = (xs: string[]) => xs.reduce((a, b) => a.plus(b), new Decimal(0)).toFixed();
  expect(fills.length).toBe(trades.length);
  expect(sum(fills.map((f) => f.amount))).toBe(sum(trades.map((t) => String(t.qty))));
  expect(sum(fills.map((f) => f.fee))).toBe(sum(trades.map((t) => String(t.commission))));
}

async function reconcileNow(venue: TestVenue): Promise<Record<string, unknown>> {
  const job = await venue.ctx.queues.execution.add(RECONCILE_JOB, {}, { jobId: `reconcile-test-${Date.now()}` });
  const done = await venue.settled(job.id!);
  expect(await done.getState()).toBe('completed');
  return done.returnvalue as Record<string, unknown>;
}

describe('execution on a ccxt exchange (mock Binance over HTTP)', () => {
  const prefix = freshPrefix('exec');
  let venue: TestVenue;

  beforeAll(async () => {
    venue = await startVenue(prefix);
  }, 30_000);
  afterAll(async () => venue?.close());

  const faults: [string, Fault][] = [
    ['429 with Retry-After', { kind: 'status', status: 429, retryAfterSeconds: 1, match: 'POST /api/v3/order' }],
    ['418 (banned) with Retry-After', { kind: 'status', status: 418, retryAfterSeconds: 1, match: 'POST /api/v3/order' }],
    ['500', { kind: 'status', status: 500, match: 'POST /api/v3/order' }],
    ['502', { kind: 'status', status: 502, match: 'POST /api/v3/order' }],
    ['503 (server busy)', { kind: 'status', status: 503, match: 'POST /api/v3/order' }],
    ['504', { kind: 'status', status: 504, match: 'POST /api/v3/order' }],
    ['a timeout before processing', { kind: 'timeout', match: 'POST /api/v3/order' }],
    ['an accepted order whose response is lost', { kind: 'lostResponse', mode: 'destroy', match: 'POST /api/v3/order' }],
    ['an accepted order whose response never comes', { kind: 'lostResponse', mode: 'hang', match: 'POST /api/v3/order' }],
    ['an order the venue places after the client gave up', { kind: 'delay', ms: 900, match: 'POST /api/v3/order' }],
    ['a slow answer within the timeout', { kind: 'delay', ms: 300, match: 'POST /api/v3/order' }],
    ['a refused connection', { kind: 'down', match: 'POST /api/v3/order' }],
    ['a failed lookup after a lost response', { kind: 'lostResponse', mode: 'destroy', match: 'POST /api/v3/order' }],
    ['no fault', { kind: 'delay', ms: 0, match: 'GET /api/v3/ping' }],
  ];

  it.each(faults.map(([name, fault], i) => [name, fault, i] as const))('places exactly one order under %s, and the ledger matches its fills', async (name, fault, i) => {
    const id = `qb-ETHBTC-fault-${i}`;
    venue.mock.inject(fault);
    if (name === 'a failed lookup after a lost response') venue.mock.inject({ kind: 'status', status: 503, times: 2, match: 'GET /api/v3/order' });
    await venue.send({ clientOrderId: id, amount: '0.5' });
    const job = await venue.settled(id);
    expect(await job.getState(), job.failedReason).toBe('completed');
    expect(venue.mock.ordersByClientId(id)).toBe(1);
    expect(await venue.ctx.ledger.getOrder(id)).toMatchObject({ status: 'filled', filledAmount: '0.5', remaining: '0' });
    expect(await venue.ctx.ledger.sendingOrder(id)).toBeUndefined();
    await fillsAgree(venue, id);
    if (name.startsWith('an accepted order') || name.startsWith('an order the venue')) expect(creates(venue.mock, id)).toBe(1);
    if (name === 'an order the venue places after the client gave up') {
      // Found by the next attempt's lookup, not sent again: the audit trail says so.
      const audit = await new AuditLog(venue.ctx.redis, venue.ctx.keys).entries();
      expect(audit.some((e) => e.type === 'order.recovered' && e.data.clientOrderId === id)).toBe(true);
    }
  }, 30_000);

  it('waits out a 429 for the whole queue without spending an attempt', async () => {
    const id = 'qb-ETHBTC-throttled';
    venue.mock.inject({ kind: 'status', status: 429, retryAfterSeconds: 2, match: 'POST /api/v3/order' });
    await venue.send({ clientOrderId: id, amount: '0.1' });
    const job = await venue.settled(id);
    const posts = venue.mock.requests.filter((r) => r.method === 'POST' && r.params.newClientOrderId === id);
    expect(posts).toHaveLength(2);
    // The next request to the venue came only after its Retry-After.
    expect(posts[1]!.ts - posts[0]!.ts).toBeGreaterThanOrEqual(1900);
    expect(await job.getState()).toBe('completed');
    expect(job.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(job.attemptsMade).toBeLessThanOrEqual(1);
  }, 30_000);

  it('never retries a permanent error, and says why it failed', async () => {
    const id = 'qb-ETHBTC-broke';
    venue.mock.inject({ kind: 'insufficientFunds' });
    await venue.send({ clientOrderId: id, amount: '0.2' });
    const job = await venue.settled(id);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/InsufficientFunds\): Account has insufficient balance/);
    expect(creates(venue.mock, id)).toBe(1);
    expect(await venue.ctx.ledger.getOrder(id)).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/InsufficientFunds/) });
    const audit = await new AuditLog(venue.ctx.redis, venue.ctx.keys).entries();
    expect(audit.find((e) => e.type === 'order.failed' && e.data.clientOrderId === id)?.data.reason).toMatch(/insufficient balance/);
    const alerts = await venue.ctx.queues.notifications.getJobs(['waiting', 'prioritized', 'completed']);
    expect(alerts.some((a) => a.data.event === 'order.rejected' && /insufficient/.test(a.data.body))).toBe(true);
  }, 30_000);

  it('fails an order that breaks the market filters at once, with the filter named', async () => {
    const id = 'qb-ETHBTC-notional';
    // 0.001 ETH at 0.05 is 0.00005 BTC, under the market's minimum notional of 0.001.
    await venue.send({ clientOrderId: id, amount: '0.001' });
    const job = await venue.settled(id);
    expect(await job.getState()).toBe('failed');
    expect(job.failedReason).toMatch(/Filter failure/);
    expect(creates(venue.mock, id)).toBe(1);
  }, 30_000);

  it('records a partial fill, and the rest when reconciliation finds it filled', async () => {
    const id = 'qb-ETHBTC-partial';
    venue.mock.inject({ kind: 'partialFill', fraction: 0.4 });
    await venue.send({ clientOrderId: id, amount: '1' });
    await venue.settled(id);
    expect(await venue.ctx.ledger.getOrder(id)).toMatchObject({ status: 'open', filledAmount: '0.4', remaining: '0.6' });
    venue.mock.fillOrder(venue.mock.orders().find((o) => o.clientOrderId === id)!.orderId);
    const report = await reconcileNow(venue);
    expect(report.refreshed).toBeGreaterThanOrEqual(1);
    expect(await venue.ctx.ledger.getOrder(id)).toMatchObject({ status: 'filled', filledAmount: '1', fillCount: 2 });
    const filled = (await venue.ctx.queues.notifications.getJobs(['waiting', 'prioritized', 'completed'])).filter((j) => j.data.event === 'order.filled' && j.data.dedupeKey === id);
    expect(filled).toHaveLength(1);
    expect(filled[0]!.data.title).toMatch(/^buy 1 ETH filled at [0-9.]+ BTC$/);
    await fillsAgree(venue, id);
    expect(venue.mock.ordersByClientId(id)).toBe(1);
  }, 30_000);

  it('adopts an order of ours that only the venue knows, and leaves foreign ones alone', async () => {
    const ex = venue.mock;
    const ours = 'qb-ADABTC-orphan0000000000';
    // Placed straight at the venue (as if Redis had lost the record), resting below the market.
    const { VenueClient } = await import('../src/exchange/ccxt/venueClient.ts');
    const client = new VenueClient({ id: 'binance', mode: 'testnet', apiKey: ex.apiKey, apiSecret: ex.secret, baseUrl: ex.url, timeoutMs: 2000 }, { take: async () => {}, onThrottled: () => {}, onVenueFailure: () => {} });
    await client.createOrder({ clientOrderId: ours, symbol: 'ADA/BTC', side: 'buy', type: 'limit', price: '0.000009', amount: '200', decisionTs: 1, reason: 'x' });
    await client.createOrder({ clientOrderId: 'manual-by-hand-1', symbol: 'ADA/BTC', side: 'buy', type: 'limit', price: '0.000008', amount: '200', decisionTs: 1, reason: 'x' });
    const report = await reconcileNow(venue);
    expect(report.adopted).toContain(ours);
    expect(report.foreign).toBe(1);
    expect(await venue.ctx.ledger.getOrder(ours)).toMatchObject({ status: 'open', intent: { symbol: 'ADA/BTC', side: 'buy', type: 'limit', price: '0.000009', amount: '200' } });
    expect(await venue.ctx.ledger.getOrder('manual-by-hand-1')).toBeUndefined();
  }, 30_000);

  it('keeps a manual retry idempotent: the same intent run again places nothing', async () => {
    const id = 'qb-ETHBTC-fault-0';
    const before = venue.mock.orders().length;
    const job = await venue.job(id);
    await job!.remove();
    await venue.send({ clientOrderId: id, amount: '0.5' });
    const again = await venue.settled(id);
    expect(again.returnvalue).toMatchObject({ duplicate: true, status: 'filled' });
    expect(venue.mock.orders().length).toBe(before);
  }, 30_000);

  it('ends with the ledger matching the venue balances', async () => {
    const report = await reconcileNow(venue);
    // The orphan adopted above still rests (nothing filled), so balances agree currency by currency.
    expect(report.drift).toEqual([]);
    expect(venue.mock.errors).toEqual([]);
  }, 30_000);
});

describe('execution algorithms on a ccxt exchange', () => {
  const prefix = freshPrefix('algo');
  let twap: TestVenue;

  beforeAll(async () => {
    twap = await startVenue(prefix, { config: { 'execution.algo': { kind: 'twap', thresholdQuote: '0.01', slices: 3, intervalMs: 400 } } });
  }, 30_000);
  afterAll(async () => twap?.close());

  it('sends a TWAP as child orders on its schedule, each with its own client order id, adding up to the intent', async () => {
    const id = 'qb-ETHBTC-twap-parent';
    await twap.send({ clientOrderId: id, amount: '0.9' });
    const job = await twap.settled(id);
    expect(await job.getState(), job.failedReason).toBe('completed');
    const children = (job.returnvalue as { children: { clientOrderId: string; amount: string; status: string }[] }).children;
    expect(children.map((c) => c.amount)).toEqual(['0.3', '0.3', '0.3']);
    expect(children.every((c) => c.status === 'filled')).toBe(true);
    expect(twap.mock.ordersByClientId(id)).toBe(0);
    const placed = children.map((c) => twap.mock.orders().find((o) => o.clientOrderId === c.clientOrderId)!);
    expect(placed.every((o) => o !== undefined)).toBe(true);
    const times = children.map((c) => twap.mock.requests.find((r) => r.method === 'POST' && r.params.newClientOrderId === c.clientOrderId)!.ts);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(350);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(350);
    for (const c of children) await fillsAgree(twap, c.clientOrderId);
    // A run of the same intent again finds every child and places nothing.
    await job.remove();
    const before = twap.mock.orders().length;
    await twap.send({ clientOrderId: id, amount: '0.9' });
    expect(await (await twap.settled(id)).getState()).toBe('completed');
    expect(twap.mock.orders().length).toBe(before);
  }, 30_000);

  it('leaves an intent under the threshold whole', async () => {
    const id = 'qb-ETHBTC-twap-small';
    await twap.send({ clientOrderId: id, amount: '0.1' });
    expect(await (await twap.settled(id)).getState()).toBe('completed');
    expect(twap.mock.ordersByClientId(id)).toBe(1);
  }, 30_000);
});

describe('an iceberg on a ccxt exchange', () => {
  const prefix = freshPrefix('iceberg');
  let venue: TestVenue;

  beforeAll(async () => {
    venue = await startVenue(prefix, { config: { 'execution.algo': { kind: 'iceberg', thresholdQuote: '0.01', visibleShare: 0.25, pollMs: 100 } } });
  }, 30_000);
  afterAll(async () => venue?.close());

  it('shows one child at a time, and sends the next only when the one before has filled', async () => {
    const { mock } = venue;
    const id = 'qb-ETHBTC-iceberg';
    await venue.send({ clientOrderId: id, type: 'limit', price: '0.049', amount: '0.8' } as never);
    await waitFor(async () => mock.orders().some((o) => o.clientOrderId?.startsWith('qb-ETHBTC-c0-')));
    await new Promise((r) => setTimeout(r, 600));
    // Below the market it rests, and nothing more is shown.
    const children = () => mock.orders().filter((o) => /^qb-ETHBTC-c\d-/.test(o.clientOrderId ?? ''));
    expect(children()).toHaveLength(1);
    expect(children()[0]).toMatchObject({ status: 'NEW' });
    mock.setPrice('ETH/BTC', 0.048);
    const job = await venue.settled(id);
    expect(await job.getState(), job.failedReason).toBe('completed');
    const placed = children();
    expect(placed.map((o) => String(o.origQty))).toEqual(['0.2', '0.2', '0.2', '0.2']);
    // Each child was sent after the one before it had filled.
    const sentAt = placed.map((o) => mock.requests.find((r) => r.method === 'POST' && r.params.newClientOrderId === o.clientOrderId)!.ts);
    const filledAt = placed.map((o) => Math.max(...mock.trades().filter((t) => String(t.orderId) === String(o.orderId)).map((t) => t.time)));
    for (let i = 1; i < placed.length; i++) expect(sentAt[i]!).toBeGreaterThanOrEqual(filledAt[i - 1]!);
    for (const o of placed) await fillsAgree(venue, o.clientOrderId!);
  }, 30_000);
});
