import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, startServer, type RunningServer } from '../src/api/server.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createContext, type Context } from '../src/main/context.ts';
import { serverDepsOf } from '../src/main/serverDeps.ts';
import { BODY_LIMIT_BYTES } from '../src/api/route.ts';
import { API_ERROR_STATUS } from '../src/api/errors.ts';
import { ROOT, dropPrefix, freshPrefix, redisUrl, testConfig } from './helpers/pipeline.ts';

const TOKEN = 'fake-test-token-api-0123456789';

describe('the REST API', () => {
  const prefix = freshPrefix('api');
  let ctx: Context;
  let server: RunningServer;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers: { ...auth, ...headers } });
  const post = (path: string, body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${server.url}${path}`, { method: 'POST', body, headers: { ...auth, ...headers } });

  beforeAll(async () => {
    ctx = await createContext(testConfig(prefix), createLogger({ level: 'silent', format: 'json' }), redisUrl(), ROOT);
    server = await startServer({ ...serverDepsOf(ctx), host: '127.0.0.1', port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await ctx?.close();
    await dropPrefix(prefix);
  });

  /** Asserts a 4xx with the error body's code and a message that matches `message`. */
  async function expectRefused(res: Response, status: number, message: RegExp): Promise<void> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    const body = JSON.parse(text) as { code: keyof typeof API_ERROR_STATUS; message: string };
    expect(API_ERROR_STATUS[body.code], `${body.code} maps to ${status}`).toBe(status);
    expect(body.message).toMatch(message);
  }

  it.each([
    ['/api/orders?limit=abc', /query\.limit: .*number/i],
    ['/api/orders?limit=0', /query\.limit: .*>=\s?1/],
    ['/api/orders?limit=1.5', /query\.limit: must be a whole number/],
    ['/api/orders?limit=5000', /query\.limit: .*<=\s?1000/],
    ['/api/orders?limit=1&limit=2', /query\.limit/],
    ['/api/orders?status=lost', /query\.status: .*"open"/],
    ['/api/orders?symbol=btc-usd', /query\.symbol: must be a market like ETH\/BTC/],
    ['/api/orders?sort=desc', /query: unknown field "sort"/],
    ['/api/positions?x=1', /query: unknown field "x"/],
    ['/api/decisions?action=short', /query\.action/],
    ['/api/denials?limit=-1', /query\.limit/],
    ['/api/bots?status=sleeping', /query\.status/],
    ['/api/bots/Not_An_Id', /params\.id: must be a bot instance id/],
    ['/api/candles', /query\.symbol: .*(required|expected string)/i],
    ['/api/candles?symbol=ETH/BTC&timeframe=5x', /query\.timeframe: must be a timeframe/],
    ['/api/export/positions', /params\.kind: .*"orders"/],
    ['/api/export/fills?format=xml', /query\.format/],
    ['/api/export/fills?from=10&to=5', /query\.from: from must be before to/],
    ['/api/export/fills?from=yesterday', /query\.from/],
  ])('answers GET %s with 400 and says what is wrong', async (path, message) => {
    await expectRefused(await get(path), 400, message);
  });

  it('answers 404 with a reason for a bot, a market or a route that does not exist', async () => {
    await expectRefused(await get('/api/bots/no-such-instance'), 404, /no configured bot instance "no-such-instance"/);
    await expectRefused(await get('/api/candles?symbol=DOGE/BTC'), 404, /does not trade DOGE\/BTC/);
    await expectRefused(await get('/api/nothing-here'), 404, /no route GET \/api\/nothing-here/);
    await expectRefused(await post('/api/bots/no-such-instance/enable', undefined, {}), 404, /no configured bot instance/);
  });

  it('answers 405 for a method a route does not have', async () => {
    await expectRefused(await fetch(`${server.url}/api/trading-state`, { method: 'DELETE', headers: auth }), 405, /DELETE is not supported on \/api\/trading-state \(use GET, POST\)/);
  });

  it('refuses bad request bodies: broken JSON 400, not JSON 415, too large 413, unknown or missing fields 400', async () => {
    const path = '/api/trading-state';
    await expectRefused(await post(path, '{"state":'), 400, /not valid JSON/);
    await expectRefused(await post(path, 'null'), 400, /not valid JSON|body/);
    await expectRefused(await post(path, '[]'), 400, /body: .*object/i);
    await expectRefused(await post(path, 'state=HALTED&reason=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, /application\/json/);
    await expectRefused(await post(path, 'HALTED', { 'content-type': 'text/plain' }), 415, /application\/json/);
    await expectRefused(await post(path, JSON.stringify({ state: 'HALTED', reason: 'x'.repeat(BODY_LIMIT_BYTES) })), 413, /larger than the limit of 16384 bytes/);
    await expectRefused(await post(path, JSON.stringify({ state: 'HALTED', reason: 'x', extra: 1 })), 400, /body: unknown field "extra"/);
    await expectRefused(await post(path, JSON.stringify({ state: 'STOP', reason: '  ' })), 400, /body\.state: .*ACTIVE.*body\.reason: say why/s);
    await expectRefused(await post(path, JSON.stringify({ reason: 'no state' })), 400, /body\.state/);
    await expectRefused(await post('/api/bots/rsi-14/disable', JSON.stringify({ reason: 42 })), 400, /body\.reason: .*string/i);
    await expectRefused(await post('/api/bots/rsi-14/enable', JSON.stringify({ now: true })), 400, /takes no request body/);
    expect((await ctx.risk.tradingState()).state).toBe('ACTIVE');
  });

  it('lists the issues one by one, each with where it is', async () => {
    const res = await post('/api/trading-state', JSON.stringify({ state: 'STOP', reason: '', extra: 1 }));
    const body = await res.json();
    expect(body.code).toBe('BAD_REQUEST');
    expect(body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['body', 'body.reason', 'body.state']);
  });

  it('never answers 500 to junk: odd paths, odd encodings, odd headers', async () => {
    const tries = [
      get('/api/bots/%E0%A4%A'),
      get('/api/orders?limit=%ZZ'),
      get('/api/export/%00'),
      post('/api/trading-state', '\u0000\u0001', { 'content-type': 'application/json' }),
      post('/api/trading-state', '{"state":"HALTED","reason":"x"}', { 'content-type': 'application/json; charset=latin-9' }),
      post('/api/trading-state', '{}', { 'content-type': 'application/json', 'content-encoding': 'br-unknown' }),
      fetch(`${server.url}/api/bots`, { headers: { cookie: 'quorum_session=%E0%A4%A' } }),
      fetch(`${server.url}/api/bots`, { headers: { authorization: 'Bearer \u00e9\u00e9' } }),
    ];
    for (const res of await Promise.all(tries)) {
      expect(res.status, `${res.url} ${res.status}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${res.url} ${await res.clone().text()}`).toBeLessThan(500);
    }
  });

  it('serves what exists: bots, one bot, positions, orders, decisions, denials, markets, candles, risk, breaker, performance', async () => {
    const bots = await (await get('/api/bots')).json();
    expect(bots.instances.length).toBeGreaterThan(100);
    const one = await (await get(`/api/bots/${bots.instances[0].id}`)).json();
    expect(one).toMatchObject({ id: bots.instances[0].id, status: 'running', contribution: { trades: 0 } });
    expect(await (await get('/api/positions')).json()).toEqual({ positions: [] });
    expect(await (await get('/api/orders?status=open&limit=5')).json()).toEqual({ total: 0, orders: [] });
    expect((await (await get('/api/decisions?symbol=ETH/BTC')).json()).decisions).toEqual([]);
    expect((await (await get('/api/denials')).json()).denials).toEqual([]);
    const markets = (await (await get('/api/markets')).json()).markets;
    expect(markets).toContainEqual({ symbol: 'ETH/BTC', timeframe: '5m' });
    expect(await (await get('/api/candles?symbol=ETH/BTC')).json()).toMatchObject({ symbol: 'ETH/BTC', timeframe: '5m', candles: [], fills: [] });
    expect((await (await get('/api/breaker')).json()).state.status).toBe('closed');
    expect((await (await get('/api/risk')).json()).tradingState.state).toBe('ACTIVE');
    expect((await get('/api/performance')).status).toBe(200);
  });

  it('enables, disables and resets the quarantine of a bot separately', async () => {
    const id = (await (await get('/api/bots')).json()).instances[1].id as string;
    await ctx.health.quarantine(id, { reason: 'failed 5 times', at: 1, by: 'quorum' });
    expect((await post(`/api/bots/${id}/disable`, JSON.stringify({ reason: 'looking at it' }))).status).toBe(200);
    expect(await (await post(`/api/bots/${id}/enable`, undefined, {})).json()).toEqual({ instance: id, wasDisabled: true });
    expect((await (await get(`/api/bots/${id}`)).json()).status).toBe('quarantined');
    expect(await (await post(`/api/bots/${id}/reset-quarantine`, undefined, {})).json()).toEqual({ instance: id, wasQuarantined: true });
    expect((await (await get(`/api/bots/${id}`)).json()).status).toBe('running');
  });

  it('exports orders, fills and trades as CSV (with a header) or JSON lines, as a download', async () => {
    const csv = await get('/api/export/orders?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="quorum-orders.csv"');
    expect((await csv.text()).split('\r\n')[0]).toMatch(/^clientOrderId,symbol,side,type,amount,/);
    const jsonl = await get('/api/export/trades');
    expect(jsonl.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(await jsonl.text()).toBe('');
    expect((await (await get('/api/export/fills?format=csv')).text()).trim()).toBe('clientOrderId,symbol,side,amount,price,cost,fee,feeCurrency,ts');
  });

  it('describes every route it serves in its OpenAPI document, generated from the same schemas', async () => {
    const doc = await (await get('/api/openapi.json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    // A valid OpenAPI document (schema and references checked by a validator); it validates a copy.
    await SwaggerParser.validate(structuredClone(doc));
    const described = new Set(Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    const served = servedRoutes(createApp({ ...serverDepsOf(ctx), host: '127.0.0.1', port: 0, token: TOKEN }));
    const api = served.filter((r) => /^(GET|POST|PUT|DELETE) (\/api\/|\/healthz|\/readyz|\/metrics)/.test(r));
    expect(api.length).toBeGreaterThanOrEqual(20);
    for (const r of api) expect(described, r).toContain(r);
    expect(described.size).toBe(api.length);
    // Inputs are described from the zod schemas: the disable body, the orders filters.
    expect(doc.paths['/api/bots/{id}/disable'].post.requestBody.content['application/json'].schema).toMatchObject({ required: ['reason'], additionalProperties: false });
    expect(doc.paths['/api/orders'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['status', 'symbol', 'limit']);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });
});

/** METHOD /path of every route registered on the app (Bull Board's own, mounted below a prefix, aside). */
function servedRoutes(app: ReturnType<typeof createApp>): string[] {
  const out: string[] = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; slash?: boolean; name?: string };
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${layer.route.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
      else if (layer.name === 'router' && layer.slash && layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
