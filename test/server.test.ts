import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError, Worker } from 'bullmq';
import { startServer, ServerConfigError, type RunningServer } from '../src/api/server.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createContext, type Context } from '../src/main/context.ts';
import { serverDepsOf } from '../src/main/serverDeps.ts';
import { allQueueNames } from '../queues/names.ts';
import { ROOT, dropPrefix, freshPrefix, redisUrl, testConfig } from './helpers/pipeline.ts';

const TOKEN = 'fake-test-token-0123456789';

describe('the HTTP server', () => {
  const prefix = freshPrefix('server');
  let ctx: Context;
  let server: RunningServer;

  beforeAll(async () => {
    ctx = await createContext(testConfig(prefix), createLogger({ level: 'silent', format: 'json' }), redisUrl(), ROOT);
    server = await startServer({ ...serverDepsOf(ctx), host: '127.0.0.1', port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await ctx?.close();
    await dropPrefix(prefix);
  });

  const auth = { authorization: `Bearer ${TOKEN}` };

  it('answers /healthz without a token, and /readyz says what is missing', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    const problems = (await ready.json()).problems as string[];
    expect(problems).toContain('no worker serves queue "ticks"');
    expect(problems).toContain('the feed has not delivered a candle yet');
  });

  it('calls the feed stale and the breaker open on /readyz, with the reasons', async () => {
    const tick = await ctx.queues.ticks.add('stale-tick', { any: 'thing' }, { timestamp: Date.now() - 3_600_000 });
    await ctx.redis.hset(ctx.keys.breaker('paper'), 'state', 'not json');
    try {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      const { problems, checks } = await res.json();
      expect(problems).toContain('the circuit breaker of "paper" is open: stored breaker state is unreadable: not JSON');
      expect(problems.find((p: string) => p.startsWith('the feed is stale'))).toMatch(/last candle reached the ticks queue 3600 s ago \(limit 900 s\)/);
      expect(checks).toMatchObject({ redis: true, breaker: 'open' });
    } finally {
      await tick.remove();
      await ctx.redis.del(ctx.keys.breaker('paper'));
    }
  });

  it('refuses Bull Board and the API without the token, and with a wrong one', async () => {
    for (const path of ['/admin/queues/api/queues', '/api/summary', '/']) {
      const res = await fetch(`${server.url}${path}`, { headers: { accept: 'application/json' } });
      expect(res.status, path).toBe(401);
      expect((await fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer wrong-token-xxxxxxxxxx', accept: 'application/json' } })).status).toBe(401);
    }
  });

  it('lets a browser sign in with the token and keeps the token itself out of the cookie', async () => {
    const res = await fetch(`${server.url}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '/admin/queues' }), redirect: 'manual' });
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain(TOKEN);
    const page = await fetch(`${server.url}/admin/queues/api/queues`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
  });

  it('shows every queue in Bull Board, and a failed job can be retried from it', async () => {
    const res = await fetch(`${server.url}/admin/queues/api/queues`, { headers: auth });
    expect(res.status).toBe(200);
    const names = (await res.json()).queues.map((q: { name: string }) => q.name).sort();
    expect(names).toEqual(allQueueNames('paper').sort());

    const queue = ctx.queues.notifications;
    const worker = new Worker(queue.name, async () => { throw new UnrecoverableError('fails once'); }, { connection: ctx.redis, prefix: ctx.queues.prefix });
    const job = await queue.add('x', { any: 'thing' });
    await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await worker.close();
    expect(await job.getState()).toBe('failed');
    const retry = await fetch(`${server.url}/admin/queues/api/queues/${queue.name}/${job.id}/retry?queueStatus=failed`, { method: 'PUT', headers: auth });
    expect(retry.status).toBeLessThan(300);
    expect(['waiting', 'wait', 'prioritized']).toContain(await job.getState());
  });

  it('throws the kill switch through the API: JSON only, checked, recorded, and the state is served back', async () => {
    const url = `${server.url}/api/trading-state`;
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(url, { method: 'POST', body, headers: { ...auth, ...headers } });
    expect((await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
    expect((await post('state=HALTED&reason=x', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    const bad = await post(JSON.stringify({ state: 'STOP', reason: '' }));
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/state: .*ACTIVE.*reason: say why/s);
    expect((await post(JSON.stringify({ state: 'HALTED', reason: 'x', extra: 1 }))).status).toBe(400);
    expect((await post('{"state":')).status).toBe(400);
    const ok = await post(JSON.stringify({ state: 'HALTED', reason: 'exchange outage' }));
    expect(ok.status).toBe(200);
    expect((await ok.json()).current).toMatchObject({ state: 'HALTED', reason: 'exchange outage', by: 'api' });
    const shown = await (await fetch(url, { headers: auth })).json();
    expect(shown.current.state).toBe('HALTED');
    expect(shown.history[0]).toMatchObject({ state: 'HALTED', reason: 'exchange outage' });
    expect(await ctx.risk.tradingState()).toMatchObject({ state: 'HALTED' });
    const alert = (await ctx.queues.notifications.getJobs(['waiting', 'prioritized'])).find((j) => j.data.event === 'kill-switch');
    expect(alert?.data).toMatchObject({ priority: 'critical', title: 'trading HALTED (api)', body: 'exchange outage' });
  });

  it('serves the risk figures of the portfolio', async () => {
    const res = await fetch(`${server.url}/api/risk`, { headers: auth });
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report.quotes.map((q: { quote: string }) => q.quote)).toEqual(['BTC', 'ETH']);
    expect(report.quotes[0]).toMatchObject({ equity: '1', exposure: 0, openPositions: 0, figures: null });
    expect(report.limits.maxVar).toBe(0.03);
  });

  it('lists bot instances with their status, and takes one out of service and back with checked input', async () => {
    const list = await (await fetch(`${server.url}/api/bots`, { headers: auth })).json();
    expect(list.instances.length).toBeGreaterThanOrEqual(200);
    const id = list.instances[0].id as string;
    expect(list.instances[0]).toMatchObject({ status: 'running', health: { streak: 0 } });
    const post = (path: string, body?: unknown) =>
      fetch(`${server.url}/api/bots/${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await post(`${id}/disable`, {})).status).toBe(400);
    expect((await post(`${id}/disable`, { reason: 'x', extra: true })).status).toBe(400);
    expect((await post('Not_An_Id/disable', { reason: 'x' })).status).toBe(400);
    const unknown = await post('no-such-instance/disable', { reason: 'x' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).message).toMatch(/no configured bot instance "no-such-instance"/);
    expect((await post(`${id}/explode`)).status).toBe(404);
    expect((await post(`${id}/disable`, { reason: 'investigating' })).status).toBe(200);
    const after = await (await fetch(`${server.url}/api/bots`, { headers: auth })).json();
    expect(after.instances.find((i: { id: string }) => i.id === id)).toMatchObject({ status: 'disabled', suspension: { reason: 'investigating', by: 'api' } });
    const released = await post(`${id}/release`);
    expect(await released.json()).toMatchObject({ instance: id, status: 'running', wasDisabled: true, wasQuarantined: false });
  });

  it('refuses a state change from another site even with the session cookie, and takes it from its own pages', async () => {
    const login = await fetch(`${server.url}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const url = `${server.url}/api/trading-state`;
    const json = { cookie, 'content-type': 'application/json' };
    const body = JSON.stringify({ state: 'REDUCING', reason: 'csrf attempt' });
    const before = await ctx.risk.tradingState();
    // A cross-site form POST, as a browser sends it (it marks the request; a page cannot unmark it).
    const form = await fetch(url, { method: 'POST', body: 'state=REDUCING&reason=csrf', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } });
    expect(form.status).toBe(403);
    expect((await form.json()).message).toMatch(/cross-site request refused/);
    const crossOrigin = await fetch(url, { method: 'POST', body, headers: { ...json, origin: 'http://evil.example' } });
    expect(crossOrigin.status).toBe(403);
    expect((await crossOrigin.json()).message).toMatch(/cross-origin request refused: POST from origin http:\/\/evil\.example/);
    expect((await fetch(url, { method: 'POST', body, headers: { ...json, 'sec-fetch-site': 'same-site' } })).status).toBe(403);
    expect(await ctx.risk.tradingState()).toEqual(before);
    const own = await fetch(url, { method: 'POST', body, headers: { ...json, origin: server.url, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
    expect((await ctx.risk.tradingState()).state).toBe('REDUCING');
    // Signing in from another site is refused as well (login CSRF).
    expect((await fetch(`${server.url}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), headers: { origin: 'http://evil.example' }, redirect: 'manual' })).status).toBe(403);
  });

  it('refuses to bind beyond loopback without a token', async () => {
    await expect(startServer({ ...serverDepsOf(ctx), host: '0.0.0.0', port: 0 })).rejects.toThrow(ServerConfigError);
  });
});
