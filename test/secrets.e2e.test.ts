import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrackRecord } from '../src/coordinator/trackRecord.ts';
import { marketKey } from '../src/core/market.ts';
import { keyspace } from '../src/infra/keys.ts';
import { createRedis, type Redis } from '../src/infra/redis.ts';
import { AuditLog } from '../src/store/auditLog.ts';
import { deadPort, HttpReceiver, SmtpReceiver } from './helpers/notifyServers.ts';
import { ROOT, dropPrefix, freshPrefix, redisUrl, waitFor } from './helpers/pipeline.ts';
import { findSecrets, type SecretHit } from './helpers/secrets.ts';
import { nest, venueOverrides } from './helpers/venue.ts';
import { startMockBinance, type MockBinance } from './mockExchange/mockBinance.ts';

// The whole system as `quorum start` runs it (server, every worker, a replay in paper mode, every
// notification channel enabled toward local servers), with distinctive fake secrets in its
// environment. Afterwards every place a secret could leak to is searched for every secret in the
// forms a leak takes (as is, URL-encoded, JSON-escaped, hex, base64): the process's log from start
// to shutdown (and a `quorum optimize` sweep's), every Redis key and value of the deployment, every
// Bull Board API response, every GET route of the REST API (from its OpenAPI document) including
// the exports, the audit log, and the message bodies the channels received.
//
// It runs twice: in paper mode, and trading through ccxt on the mock Binance, where the exchange
// keys are really used (every private request carries the key and is signed with the secret).

const SECRETS = {
  apiKey: 'QRMfakeApiKey7c1e5b9d3f0a2468aceb',
  apiSecret: 'qrm/fake+api=secret~8e2d4c6a0b1f3579',
  serverToken: 'qrm-fake-server-token/Vd8+Kq2=Zs91Lx',
  telegramToken: '55511177:QRM-fake-telegram-token_Hq3Z9pWx',
  discordToken: 'qrm-fake-discord-token-Lp4Wn8Rt2Yx6',
  slackToken: 'qrm-fake-slack-token-Bv5Nc1Mz7Kd3',
  webhookSecret: 'qrm-fake-webhook-hmac-Gf6Hj2Ks9Ql4',
  smtpPassword: 'qrm-fake-smtp-pass-Tw3Er7Yu1Io5',
};
const SMTP_USER = 'quorum';
const BUYER = 'buyer';
const SEEDED: TrackRecord = { n: 50, sum: 0.5, sumSq: 0.03, hits: 40, lastTs: 0 };
const MARKETS = ['ETH/BTC', 'ADA/BTC'];
const BULL_STATUSES = ['latest', 'active', 'waiting', 'waiting-children', 'prioritized', 'completed', 'failed', 'delayed', 'paused'];

/**
 * paper: the simulated exchange, which reads the exchange keys into the config and sends them
 * nowhere. testnet: ccxt against the mock Binance, which signs every private request with them.
 */
function secretsSuite(venue: 'paper' | 'testnet'): void {
  const prefix = freshPrefix(`secrets-${venue}`);
  const account = venue === 'paper' ? 'paper' : 'binance';
  let mock: MockBinance | undefined;
  const keys = keyspace(prefix);
  let http: HttpReceiver;
  let smtp: SmtpReceiver;
  let redis: Redis;
  let child: ChildProcess;
  let output = '';
  let sweepOutput = '';
  let env: NodeJS.ProcessEnv = {};
  let base = '';
  const auth = { authorization: `Bearer ${SECRETS.serverToken}` };
  const hits: SecretHit[] = [];
  /** GET with the token; the whole response (status line, headers, body) is searched. */
  async function fetchSearched(path: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
    const res = await fetch(`${base}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    const body = await res.text();
    const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    hits.push(...findSecrets(SECRETS, `${res.status}\n${headers}\n\n${body}`, `${init.method ?? 'GET'} ${path}`));
    return { status: res.status, body };
  }

  beforeAll(async () => {
    http = await new HttpReceiver().start();
    smtp = await new SmtpReceiver({ user: SMTP_USER, pass: SECRETS.smtpPassword }).start();
    // A channel that refuses and echoes its secret back: the failure reason must not carry it on.
    http.behaviour.discord = { kind: 'status', status: 401, body: JSON.stringify({ message: `Invalid Webhook Token ${SECRETS.discordToken}`, code: 50027 }) };
    if (venue === 'testnet') {
      mock = await startMockBinance({ apiKey: SECRETS.apiKey, secret: SECRETS.apiSecret, balances: { BTC: '2', ETH: '0', ADA: '0' } });
      // An exchange that echoes the key back in an authentication error (it fails that order for
      // good: the reason travels to the ledger, the job, the log and the channels), and a 5xx that is retried.
      mock.inject({ kind: 'status', status: 401, match: 'POST /api/v3/order', body: { code: -2015, msg: `Invalid API-key ${SECRETS.apiKey}, IP, or permissions for action.` } });
      mock.inject({ kind: 'status', status: 503, match: 'POST /api/v3/order' });
    }
    redis = createRedis(redisUrl());
    for (const symbol of MARKETS) await redis.hset(keys.trackRecords(marketKey(symbol), '5m'), BUYER, JSON.stringify(SEEDED));

    // Everything but the secrets in a config file, as in production; the secrets in the environment.
    const port = await deadPort();
    base = `http://127.0.0.1:${port}`;
    const configFile = join(mkdtempSync(join(tmpdir(), 'quorum-secrets-')), 'quorum.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        replay: { files: MARKETS.map((m) => `data/ohlcv/${m.replace('/', '_')}-5m.csv`), lastCandles: 30 },
        bots: { dir: 'test/fixtures/risk-bots', instances: [{ id: BUYER, bot: 'always-buy' }] },
        coordinator: { minVoters: 1, trackRecord: { horizonCandles: 1000 } },
        ...(mock ? nest(venueSettings(mock)) : {}),
        risk: { volatilityTarget: 0, maxCorrelation: 1, maxVar: 1, dailyLossLimit: 1, maxDrawdown: 1, minEdgeSamples: 1, exits: { maxHoldCandles: 4 } },
        notify: {
          telegram: { enabled: true, chatId: '-100200300', apiBaseUrl: http.url('/tg') },
          discord: { enabled: true },
          slack: { enabled: true },
          webhook: { enabled: true },
          email: { enabled: true, host: '127.0.0.1', port: smtp.port, user: SMTP_USER, from: 'quorum@example.test', to: ['ops@example.test'] },
          delivery: { attempts: 2, backoffMs: 100, timeoutMs: 2000 },
          // Every event at once, none held back for a digest: each one reaches every channel.
          digest: { priorities: [] },
        },
      }),
    );
    env = {
        ...process.env,
        REDIS_URL: redisUrl(),
        QUORUM_REDIS_PREFIX: prefix,
        QUORUM_PORT: String(port),
        QUORUM_LOG_LEVEL: 'debug',
        QUORUM_LOG_FORMAT: 'json',
        QUORUM_MODE: venue,
        ...(mock ? { QUORUM_EXCHANGE: 'binance', QUORUM_EXCHANGE_BASE_URL: mock.url } : {}),
        QUORUM_API_KEY: SECRETS.apiKey,
        QUORUM_API_SECRET: SECRETS.apiSecret,
        QUORUM_TOKEN: SECRETS.serverToken,
        QUORUM_TELEGRAM_BOT_TOKEN: SECRETS.telegramToken,
        QUORUM_DISCORD_WEBHOOK_URL: http.url(`/discord/123/${SECRETS.discordToken}`),
        QUORUM_SLACK_WEBHOOK_URL: http.url(`/slack/T1/B2/${SECRETS.slackToken}`),
        QUORUM_WEBHOOK_URL: http.url('/hook/quorum'),
        QUORUM_WEBHOOK_SECRET: SECRETS.webhookSecret,
        QUORUM_SMTP_PASSWORD: SECRETS.smtpPassword,
    };
    child = spawn(process.execPath, ['bin/quorum.js', '--config', configFile, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`quorum start exited with ${child.exitCode}:\n${output.slice(-3000)}`);
      return output.includes('replay done; still serving');
    }, 110_000);

    // An operator throws the kill switch through the API: a critical event to every channel.
    const halt = await fetchSearched('/api/trading-state', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'HALTED', reason: 'secrets test' }) });
    expect(halt.status).toBe(200);
    await waitFor(async () => ['tg', 'slack', 'hook'].every((r) => http.on(r).some((x) => x.raw.includes('secrets test'))) && smtp.mails.some((m) => m.text.includes('secrets test')), 20_000);
    // Discord refuses for good; wait for its failed delivery (with the echoed secret in the answer).
    await waitFor(async () => http.on('discord').length >= 1, 20_000);

    // A parameter sweep on the running workers: the config travels in its jobs (secrets masked).
    const sweep = spawn(process.execPath, ['bin/quorum.js', '--config', configFile, 'optimize', '--param', 'risk.maxPositionFraction=0.05,0.1', '--folds', '1', '--no-local', '--json', '--out', join(tmpdir(), `quorum-secrets-sweep-${prefix}`)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    sweep.stdout!.on('data', (c: Buffer) => (sweepOutput += c.toString('utf8')));
    sweep.stderr!.on('data', (c: Buffer) => (sweepOutput += c.toString('utf8')));
    const code = await new Promise<number | null>((r) => sweep.on('exit', r));
    expect(code, sweepOutput.slice(-2000)).toBe(0);
  }, 150_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await redis?.quit();
    await http?.close();
    await smtp?.close();
    await mock?.close();
    await dropPrefix(prefix);
  });

  it('finds a secret in every form a leak takes (so that an empty search means something)', () => {
    const blob = (prefix: string) => `${prefix}${SECRETS.apiSecret}!`;
    const leaks = {
      raw: `x ${SECRETS.serverToken} y`,
      url: `https://h/?k=${encodeURIComponent(SECRETS.apiSecret)}`,
      json: JSON.stringify({ s: SECRETS.telegramToken }),
      base64: ['', 'a', 'ab'].map((p) => Buffer.from(blob(p)).toString('base64')),
      base64url: Buffer.from(blob('abc')).toString('base64url'),
      hex: Buffer.from(SECRETS.smtpPassword).toString('hex'),
    };
    for (const [name, texts] of Object.entries(leaks)) for (const text of [texts].flat()) expect(findSecrets(SECRETS, text, name), `${name}: ${text}`).not.toEqual([]);
    expect(findSecrets(SECRETS, 'an ordinary log line about qrm-fake and a token', 'clean')).toEqual([]);
  });

  it('ran the whole system for real: decisions, fills, round trips, and notifications on every channel', async () => {
    const summary = JSON.parse((await fetchSearched('/api/summary')).body);
    expect(JSON.stringify(summary)).toMatch(/decision/);
    const fills = (await fetchSearched('/api/export/fills?format=jsonl')).body.trim().split('\n').filter(Boolean);
    expect(fills.length).toBeGreaterThan(0);
    const trades = (await fetchSearched('/api/export/trades?format=jsonl')).body.trim().split('\n').filter(Boolean);
    expect(trades.length).toBeGreaterThan(0);
    // Each channel was really used with its secret: the receivers saw them (that is their job).
    expect(http.on('tg')[0]!.path).toBe(`/tg/bot${SECRETS.telegramToken}/sendMessage`);
    expect(http.on('slack')[0]!.path).toContain(SECRETS.slackToken);
    expect(http.on('discord')[0]!.path).toContain(SECRETS.discordToken);
    expect(smtp.mails[0]!.user).toBe(SMTP_USER);
    expect(http.on('hook')[0]!.headers['x-quorum-signature']).toMatch(/^sha256=/);
    // On the testnet the orders went to the exchange, signed with the keys.
    if (mock) {
      expect(mock.orders().length).toBeGreaterThan(0);
      // The order the exchange refused with the echoed key is recorded with the reason, the key scrubbed.
      expect((await fetchSearched('/api/export/orders?format=jsonl')).body).toContain('-2015 Invalid API-key [REDACTED], IP, or permissions for action.');
    }
  });

  it('keeps every secret out of what the channels received: message bodies, headers other than their own credentials, mails', () => {
    for (const r of http.received) hits.push(...findSecrets(SECRETS, r.raw, `${r.path.split('/')[1]} message body`));
    for (const m of smtp.mails) hits.push(...findSecrets(SECRETS, m.raw, 'mail'));
    expect(http.received.length).toBeGreaterThan(4);
    expect(hits).toEqual([]);
  });

  it('keeps every secret out of every REST API response, walking the GET routes of the OpenAPI document, exports included', async () => {
    const doc = JSON.parse((await fetchSearched('/api/openapi.json')).body) as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; required?: boolean; schema?: { maximum?: number } }> }>> };
    const bots = (JSON.parse((await fetchSearched('/api/bots')).body) as { instances: Array<{ id: string }> }).instances.map((b) => b.id);
    expect(bots).toEqual([BUYER]);
    const pathValues: Record<string, string[]> = { id: bots, kind: ['orders', 'fills', 'trades'] };
    const queryValues: Record<string, string[]> = { symbol: MARKETS, format: ['csv', 'jsonl'] };
    let walked = 0;
    for (const [template, ops] of Object.entries(doc.paths)) {
      const get = ops.get;
      if (!get) continue;
      // Every combination of the path's parameters and the query values above.
      let urls = [template];
      for (const p of get.parameters ?? []) {
        // As many items as a route gives (its largest limit), so that the search sees everything.
        const values = p.name === 'limit' && p.in === 'query' ? [String(p.schema?.maximum ?? 100)] : (p.in === 'path' ? pathValues : queryValues)[p.name];
        if (!values) {
          expect(p.required, `no test value for the required ${p.in} parameter "${p.name}" of GET ${template}`).not.toBe(true);
          continue;
        }
        urls = urls.flatMap((u) => values.map((v) => (p.in === 'path' ? u.replace(`{${p.name}}`, encodeURIComponent(v)) : `${u}${u.includes('?') ? '&' : '?'}${p.name}=${encodeURIComponent(v)}`)));
      }
      for (const url of urls) {
        if (template === '/api/events') {
          // Server-sent events: read the stream for a while, then hang up.
          const res = await fetch(`${base}${url}`, { headers: auth, signal: AbortSignal.timeout(2500) });
          expect(res.status).toBe(200);
          let text = '';
          try {
            for await (const chunk of res.body!) text += Buffer.from(chunk).toString('utf8');
          } catch {
            // the timeout ends the stream
          }
          expect(text).toContain('data:');
          hits.push(...findSecrets(SECRETS, text, `GET ${url}`));
        } else {
          const { status, body } = await fetchSearched(url);
          // /readyz says 503 once the feed has been quiet for three candle lengths (the replay has ended).
          expect(status, `GET ${url}: ${body.slice(0, 300)}`).toBe(template === '/readyz' && status === 503 ? 503 : 200);
        }
        walked++;
      }
    }
    expect(walked).toBeGreaterThanOrEqual(25);
    // The dashboard and the login page, and a sign-in (its cookie is an HMAC of the token, not the token).
    expect((await fetchSearched('/')).status).toBe(200);
    const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: SECRETS.serverToken }), redirect: 'manual' });
    hits.push(...findSecrets(SECRETS, [...login.headers].map(([k, v]) => `${k}: ${v}`).join('\n') + (await login.text()), 'POST /login'));
    expect(login.headers.get('set-cookie')).toMatch(/^quorum_session=/);
    expect(hits).toEqual([]);
  });

  it('keeps every secret out of every Bull Board API response: queues, every job of every state, job logs and flows', async () => {
    const queues = JSON.parse((await fetchSearched('/admin/queues/api/queues')).body) as { queues: Array<{ name: string }> };
    const names = queues.queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['ticks', 'analysis', 'coordinator', `execution-${account}`, 'notifications', 'optimize']));
    const jobs = new Map<string, { queue: string; id: string }>();
    for (const name of names) {
      for (const status of BULL_STATUSES) {
        const { status: code, body } = await fetchSearched(`/admin/queues/api/queues?activeQueue=${encodeURIComponent(name)}&status=${status}&page=1&jobsPerPage=1000`);
        expect(code).toBe(200);
        const q = (JSON.parse(body) as { queues: Array<{ name: string; jobs: Array<{ id: string }> }> }).queues.find((x) => x.name === name)!;
        for (const j of q.jobs) jobs.set(`${name}/${j.id}`, { queue: name, id: j.id });
      }
      for (const what of ['metrics', 'workers', 'default-job-options', 'rate-limit', 'job-data-schema']) {
        expect((await fetchSearched(`/admin/queues/api/queues/${encodeURIComponent(name)}/${what}`)).status).toBeLessThan(500);
      }
    }
    for (const extra of ['/admin/queues/api/redis/stats', '/admin/queues/api/job-schedulers']) expect((await fetchSearched(extra)).status).toBeLessThan(500);
    // Every job, opened one by one as the board does: data, return value, failure reason, stack.
    const all = [...jobs.values()];
    expect(all.filter((j) => j.queue === 'notifications').length).toBeGreaterThan(5);
    expect(all.filter((j) => j.queue === 'optimize').length, 'the sweep').toBeGreaterThan(0);
    expect(all.length).toBeGreaterThan(100);
    for (let i = 0; i < all.length; i += 16) {
      await Promise.all(
        all.slice(i, i + 16).map(async ({ queue, id }) => {
          const q = encodeURIComponent(queue);
          const j = encodeURIComponent(id);
          expect((await fetchSearched(`/admin/queues/api/queues/${q}/${j}`)).status).toBe(200);
          await fetchSearched(`/admin/queues/api/queues/${q}/${j}/logs`);
          await fetchSearched(`/admin/queues/api/queues/${q}/${j}/flow`);
        }),
      );
    }
    // The refused Discord delivery is there, its reason scrubbed of the token the server echoed.
    const failed = JSON.parse((await fetchSearched('/admin/queues/api/queues?activeQueue=notifications&status=failed&page=1&jobsPerPage=1000')).body).queues.find((x: { name: string }) => x.name === 'notifications').jobs as Array<{ failedReason: string }>;
    // (Scrubbed by the channel itself, before the reason is stored: the search below would catch it otherwise.)
    expect(failed.some((f) => f.failedReason.includes('HTTP 401: Invalid Webhook Token [REDACTED]'))).toBe(true);
    expect(hits).toEqual([]);
  });

  it('keeps every secret out of every Redis key and value of the deployment, of every type', async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    expect(found.length).toBeGreaterThan(50);
    const types = new Set<string>();
    for (const key of found) {
      const type = await redis.type(key);
      types.add(type);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      else if (type === 'none') continue; // trimmed or expired between SCAN and TYPE
      else throw new Error(`key ${key} has a type this test does not read: ${type}`);
      hits.push(...findSecrets(SECRETS, `${key}\n${JSON.stringify(value)}`, `redis ${type} ${key}`));
    }
    expect([...types]).toEqual(expect.arrayContaining(['string', 'hash', 'set', 'zset', 'stream']));
    expect(hits).toEqual([]);
  });

  it('keeps every secret out of the audit log, whose hash chain verifies (tampering: test/cli.test.ts "audit verify")', async () => {
    const entries = await new AuditLog(redis, keys).entries();
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.map((e) => e.type)).toEqual(expect.arrayContaining(['order.placed']));
    expect(AuditLog.verify(entries)).toEqual({ ok: true, count: entries.length });
    hits.push(...findSecrets(SECRETS, JSON.stringify(entries), 'audit log'));
    const verify = spawnSync(process.execPath, ['bin/quorum.js', 'audit', 'verify', '--json'], { cwd: ROOT, env: { ...process.env, REDIS_URL: redisUrl(), QUORUM_REDIS_PREFIX: prefix, QUORUM_LOG_LEVEL: 'silent' }, encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, count: entries.length });
    expect(hits).toEqual([]);
  });

  it('keeps every secret out of every line the process wrote, from start to shutdown', async () => {
    child.kill('SIGTERM');
    await waitFor(async () => child.exitCode !== null, 30_000);
    expect(child.exitCode).toBe(0);
    const lines = output.split('\n').filter((l) => l.trim() !== '');
    // The log was really written, at debug level, and says what happened (so an empty search proves nothing).
    expect(lines.length).toBeGreaterThan(20);
    expect(output).toMatch(/"level":40/);
    expect(output).toMatch(/dashboard: http:\/\/127\.0\.0\.1/);
    expect(output).toMatch(/kill-switch|HALTED/);
    lines.forEach((line, i) => hits.push(...findSecrets(SECRETS, line, `output line ${i + 1}`)));
    expect(sweepOutput).toMatch(/ranking|combo/);
    sweepOutput.split('\n').forEach((line, i) => hits.push(...findSecrets(SECRETS, line, `quorum optimize line ${i + 1}`)));
    expect(hits).toEqual([]);
  });
}

/** The mock-exchange settings of test/helpers/venue.ts, without the keys (they come from the environment) or its replay files. */
function venueSettings(mock: MockBinance): Record<string, unknown> {
  const { 'exchange.apiKey': _k, 'exchange.apiSecret': _s, 'replay.files': _f, ...rest } = venueOverrides(mock);
  return rest;
}

describe('secrets, in paper mode', () => secretsSuite('paper'));
describe('secrets, trading on an exchange through ccxt (mock Binance)', () => secretsSuite('testnet'));
