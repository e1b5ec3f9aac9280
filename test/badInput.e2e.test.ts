import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { Decision } from '../processors/coordinator.ts';
import { stamp } from '../src/contracts/envelope.ts';
import type { TickMessage } from '../src/contracts/messages.ts';
import type { RunSummary } from '../src/main/pipeline.ts';
import { instanceReports } from '../src/main/botControl.ts';
import { sessionValue } from '../src/api/auth.ts';
import { startServer, type RunningServer } from '../src/api/server.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createContext, type Context } from '../src/main/context.ts';
import { serverDepsOf } from '../src/main/serverDeps.ts';
import { QUEUE } from '../queues/names.ts';
import { ROOT, dropPrefix, freshPrefix, redisUrl, startPipeline, testConfig, type TestPipeline, waitFor } from './helpers/pipeline.ts';

// The bad-input corpus (test/corpus/): input that is wrong in every way we could think of, each
// refused with a clear reason, counted, losing nothing, while the rest keeps running. What other
// tests already prove is listed in README.md ("Bad input, tried") instead of being repeated here.

const CORPUS = join(ROOT, 'test/corpus');
const TF = 300_000;

describe('malformed candles, replayed from the corpus file and pushed as ticks', () => {
  const expected = JSON.parse(readFileSync(join(CORPUS, 'candles/expected.json'), 'utf8')) as {
    accepted: number;
    gap: number[];
    rejected: Array<{ line: number; reason: string; what: string }>;
  };
  const prefix = freshPrefix('badcandles');
  let pipeline: TestPipeline;
  let summary: RunSummary;

  beforeAll(async () => {
    pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['test/corpus/candles/ADA_BTC-5m.csv'],
        'replay.lastCandles': 0,
        'bots.dir': 'test/fixtures/pipeline-bots',
        'bots.instances': [{ id: 'steady', bot: 'momentum' }],
      }),
    );
    summary = await pipeline.replayAndDrain();
  });
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('rejects every bad row with its reason, file and line, counts each reason, and decides every good candle', async () => {
    const byReason: Record<string, number> = {};
    for (const r of expected.rejected) byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
    expect(summary.candles.rejected).toEqual(byReason);
    expect(summary.candles.rejectedTotal).toBe(expected.rejected.length);
    expect(summary.candles.stored).toBe(expected.accepted);
    // Nothing lost: one decision per good candle, none for a bad one, none invented in the gap.
    const decisions = ((await pipeline.ctx.decisions.all()) as Decision[]).map((d) => d.candleTs).sort((a, b) => a - b);
    const good = readFileSync(join(CORPUS, 'candles/ADA_BTC-5m.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .filter((_, i) => !expected.rejected.some((r) => r.line === i + 2))
      .map((row) => Number(row.split(',')[0]));
    expect(decisions).toEqual(good);
    for (const ts of expected.gap) expect(decisions).not.toContain(ts);
    // The candle after the gap is decided on a window that simply skips it.
    expect(decisions).toContain(expected.gap.at(-1)! + TF);
    const log = await pipeline.ctx.stats.rejections(100);
    for (const r of expected.rejected) {
      const entry = log.find((e) => e.where?.endsWith(`ADA_BTC-5m.csv:${r.line}`));
      expect(entry, `${r.what} (line ${r.line})`).toMatchObject({ what: 'candle', reason: r.reason });
      expect(entry!.detail, r.what).not.toBe('');
    }
  });

  it('rejects bad candles that arrive as ticks, past the feed, with the reason, and keeps the series intact', async () => {
    const { ctx } = pipeline;
    const last = (await ctx.candles.latest('ADA/BTC', '5m'))!;
    const next = last.ts + TF;
    const tick = (candle: Partial<TickMessage['candle']>, prevTs: number | null = last.ts): TickMessage => ({
      ...stamp('tick', 1, Date.now()),
      symbol: 'ADA/BTC',
      timeframe: '5m',
      candle: { ts: next, open: 0.00005, high: 0.00006, low: 0.00004, close: 0.00005, volume: 10, ...candle },
      prevTs,
      seenAt: Date.now(),
    });
    const bad: Array<[what: string, message: TickMessage, reason: RegExp]> = [
      ['high below low', tick({ high: 0.00003, low: 0.00007 }), /high-below-body/],
      ['a negative price', tick({ low: -1 }), /non-positive-price/],
      ['an absurd magnitude', tick({ open: 1e300, high: 1e300, low: 1e300, close: 1e300 }), /absurd-magnitude/],
      ['a timestamp off the grid', tick({ ts: next + 7 }), /misaligned-timestamp/],
      // (A candle of the gap: never stored, so not a duplicate, but older than the newest.)
      ['out of order: older than the newest stored candle', tick({ ts: expected.gap[0]! }, null), /older than the newest stored candle/],
    ];
    const before = await ctx.stats.counters();
    const jobs = await Promise.all(bad.map(([what, data]) => ctx.queues.ticks.add(`bad ${what}`, data, { attempts: 5 })));
    for (const [i, job] of jobs.entries()) {
      await waitFor(async () => (await ctx.queues.ticks.getJob(job.id!))?.finishedOn !== undefined);
      const failed = (await ctx.queues.ticks.getJob(job.id!))!;
      expect(failed.failedReason, bad[i]![0]).toMatch(/^rejected candle ADA\/BTC 5m /);
      expect(failed.failedReason, bad[i]![0]).toMatch(bad[i]![2]);
      expect(failed.attemptsMade).toBe(1);
    }
    const after = await ctx.stats.counters();
    expect((after['rejected.candle'] ?? 0) - (before['rejected.candle'] ?? 0)).toBe(bad.length);
    // NaN cannot even travel: JSON makes it null, and the payload check names the field.
    const nan = await ctx.queues.ticks.add('bad NaN', JSON.parse(JSON.stringify(tick({ close: Number.NaN }))), { attempts: 5 });
    await waitFor(async () => (await ctx.queues.ticks.getJob(nan.id!))?.failedReason !== undefined);
    expect((await ctx.queues.ticks.getJob(nan.id!))!.failedReason).toMatch(/^invalid ticks payload: candle\.close: /);
    // A duplicate of a decided candle is a no-op: no second decision.
    const decisionsBefore = (await ctx.decisions.all()).length;
    const dup = await ctx.queues.ticks.add('dup', { ...tick({}, null), candle: { ...last } }, { attempts: 1 });
    await waitFor(async () => (await ctx.queues.ticks.getJob(dup.id!))?.finishedOn !== undefined);
    expect((await ctx.queues.ticks.getJob(dup.id!))!.returnvalue).toMatchObject({ outcome: 'duplicate', analyses: 0 });
    expect((await ctx.decisions.all()).length).toBe(decisionsBefore);
    // And the series goes on: the next good candle is stored and decided.
    await ctx.queues.addTick(tick({}));
    await waitFor(async () => (await ctx.decisions.get('ADA/BTC', '5m', next)) !== undefined && (await ctx.decisions.get('ADA/BTC', '5m', next)) !== null);
    expect((await ctx.candles.latest('ADA/BTC', '5m'))!.ts).toBe(next);
  });
});

describe('malformed payloads pushed straight into every queue (test/corpus/payloads.json)', () => {
  const corpus = JSON.parse(readFileSync(join(CORPUS, 'payloads.json'), 'utf8')) as {
    payloads: Array<{ queue: string; name: string; what: string; data: unknown; problem: string }>;
  };
  const prefix = freshPrefix('badpayloads');
  let pipeline: TestPipeline;
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('fails each at once with "invalid <queue> payload" naming what was wrong, counts it, and the pipeline then decides every candle', async () => {
    pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/ADA_BTC-5m.csv'],
        'replay.lastCandles': 20,
        'bots.dir': 'test/fixtures/pipeline-bots',
        'bots.instances': [{ id: 'steady', bot: 'momentum' }, { id: 'second', bot: 'momentum', params: { confidence: 0.6 } }],
      }),
    );
    const { ctx } = pipeline;
    const queues: Record<string, Queue> = {
      ticks: ctx.queues.ticks,
      analysis: ctx.queues.analysis,
      coordinator: ctx.queues.coordinator,
      execution: ctx.queues.execution,
      notifications: ctx.queues.notifications,
      optimize: ctx.queues.optimize,
    };
    expect(new Set(corpus.payloads.map((p) => p.queue))).toEqual(new Set(Object.keys(queues)));
    const before = (await ctx.stats.counters())['rejected.payload'] ?? 0;
    const jobs = await Promise.all(corpus.payloads.map((p) => queues[p.queue]!.add(p.name, p.data, { attempts: 5 })));
    for (const [i, job] of jobs.entries()) {
      const p = corpus.payloads[i]!;
      const queue = queues[p.queue]!;
      await waitFor(async () => (await queue.getJob(job.id!))?.failedReason !== undefined);
      const failed = (await queue.getJob(job.id!))!;
      expect(failed.failedReason, `${p.queue}: ${p.what}`).toMatch(new RegExp(`^invalid ${queue.name} payload: `));
      expect(failed.failedReason, `${p.queue}: ${p.what}`).toMatch(new RegExp(p.problem));
      expect(failed.attemptsMade, `${p.queue}: ${p.what} is not retried`).toBe(1);
    }
    expect((await ctx.stats.counters())['rejected.payload']).toBe(before + corpus.payloads.length);
    const log = await ctx.stats.rejections(100);
    for (const job of jobs) expect(log.some((r) => r.what === 'payload' && r.where === `${job.queueName} job ${job.id}`), `rejection of ${job.queueName} job ${job.id}`).toBe(true);
    expect(({}) as Record<string, unknown>).not.toHaveProperty('polluted');

    // The workers are all still there and the pipeline decides a whole replay.
    const summary = await pipeline.replayAndDrain();
    expect(summary.decisions.total).toBe(20);
    const decisions = (await ctx.decisions.all()) as Decision[];
    expect(decisions.filter((d) => d.votes.length === 2).length).toBe(19); // the first candle is warm-up
    expect((await ctx.queues.analysis.getFailed()).filter((j) => j.name !== 'bad').length).toBe(0);
  });
});

describe('invalid config files (test/corpus/config)', () => {
  const expected = JSON.parse(readFileSync(join(CORPUS, 'config/expected.json'), 'utf8')) as Record<string, string>;
  const files = readdirSync(join(CORPUS, 'config')).filter((f) => f !== 'expected.json');

  it('has an expectation for every file of the corpus', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(files)('`quorum config check` refuses %s: exit 2, naming the file and the problem, never echoing a secret', (name) => {
    const path = join(CORPUS, 'config', name);
    const run = spawnSync(process.execPath, ['bin/quorum.js', '--config', path, 'config', 'check'], { cwd: ROOT, env: { ...process.env, QUORUM_LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(path);
    expect(run.stderr).toMatch(new RegExp(expected[name]!));
    expect(run.stdout + run.stderr).not.toMatch(/corpus-fake-[a-z-]*secret|corpus-fake-token/);
  });
});

describe('hostile API requests', () => {
  const TOKEN = 'hostile-test-token-5b7d9f1a3c';
  const prefix = freshPrefix('hostile');
  let ctx: Context;
  let server: RunningServer;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const json = { ...auth, 'content-type': 'application/json' };

  beforeAll(async () => {
    ctx = await createContext(testConfig(prefix), createLogger({ level: 'silent', format: 'json' }), redisUrl(), ROOT);
    server = await startServer({ ...serverDepsOf(ctx), host: '127.0.0.1', port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await ctx?.close();
    await dropPrefix(prefix);
  });

  /** A 4xx (never 5xx) whose body, when JSON, says what was wrong. */
  async function refused(res: Response, status: number | RegExp, message?: RegExp): Promise<void> {
    const text = await res.text();
    if (typeof status === 'number') expect(res.status, `${res.url}: ${text.slice(0, 200)}`).toBe(status);
    else expect(String(res.status), `${res.url}: ${text.slice(0, 200)}`).toMatch(status);
    if (message) {
      const body = JSON.parse(text) as { code: string; message: string };
      expect(body.code).toMatch(/^[A-Z_]+$/);
      expect(body.message).toMatch(message);
    }
  }

  it('refuses oversized bodies (a megabyte, 10 MB, a deep nest, many keys) with 413 or 400, and keeps serving', async () => {
    const post = (body: string) => fetch(`${server.url}/api/trading-state`, { method: 'POST', headers: json, body });
    await refused(await post(JSON.stringify({ state: 'HALTED', reason: 'x'.repeat(1 << 20) })), 413, /larger than the limit/);
    await refused(await post('{"a":"' + 'y'.repeat(10 << 20) + '"}'), 413, /larger than the limit/);
    await refused(await post('['.repeat(5000) + ']'.repeat(5000)), 400, /body/);
    await refused(await post(JSON.stringify(Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, i])))), 400, /unknown field/);
    expect((await fetch(`${server.url}/api/trading-state`, { headers: auth })).status).toBe(200);
    expect((await ctx.risk.tradingState()).state).toBe('ACTIVE');
  });

  it('refuses wrong types and unknown fields, prototype-pollution keys included, naming the field', async () => {
    const post = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers: json, body: typeof body === 'string' ? body : JSON.stringify(body) });
    await refused(await post('/api/trading-state', { state: ['HALTED'], reason: { text: 'x' } }), 400, /body\.state.*body\.reason|body\.reason.*body\.state/s);
    await refused(await post('/api/trading-state', { state: 1, reason: true }), 400, /body\.state/);
    await refused(await post('/api/trading-state', '{"state":"HALTED","reason":"x","__proto__":{"polluted":true}}'), 400, /unknown field "__proto__"/);
    await refused(await post('/api/trading-state', '{"state":"HALTED","reason":"x","constructor":{"prototype":{"polluted":true}}}'), 400, /unknown field "constructor"/);
    await refused(await post('/api/bots/steady/disable', { reason: 'x', admin: true }), /^40[04]$/);
    expect(({}) as Record<string, unknown>).not.toHaveProperty('polluted');
    expect((await ctx.risk.tradingState()).state).toBe('ACTIVE');
  });

  it.each([
    ["SQL in a market", "/api/orders?symbol=ETH/BTC'%20OR%201=1--", /query\.symbol/],
    ['script in a market', '/api/candles?symbol=%3Cscript%3Ealert(1)%3C/script%3E', /query\.symbol/],
    ['a path traversal as a bot id', '/api/bots/..%2F..%2Fetc%2Fpasswd', /params\.id/],
    ['a template injection as a bot id', '/api/bots/%7B%7B7*7%7D%7D', /params\.id/],
    ['a log4j-style lookup as a status', '/api/orders?status=%24%7Bjndi:ldap://x/a%7D', /query\.status/],
    ['a Redis command as an export kind', '/api/export/orders%0D%0AFLUSHALL', /params\.kind/],
    ['a NoSQL operator as a limit', '/api/orders?limit[$gt]=0', /query/],
  ])('refuses %s with 400 and a message', async (_what, path, message) => {
    await refused(await fetch(`${server.url}${path}`, { headers: auth }), 400, message);
  });

  it('keeps an injection string in a free-text reason as plain data, served back as JSON', async () => {
    const reason = `<img src=x onerror=alert(1)> '; DROP TABLE orders;-- \${jndi:ldap://x} {{7*7}} =HYPERLINK("http://evil")`;
    const res = await fetch(`${server.url}/api/trading-state`, { method: 'POST', headers: json, body: JSON.stringify({ state: 'HALTED', reason }) });
    expect(res.status).toBe(200);
    const back = await fetch(`${server.url}/api/trading-state`, { headers: auth });
    expect(back.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.stringify(await back.json())).toContain(JSON.stringify(reason).slice(1, -1));
    expect((await ctx.risk.tradingState()).state).toBe('HALTED');
  });

  it.each([
    ['no token', {}],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['the token with a character more', { authorization: `Bearer ${TOKEN}x` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token in other case', { authorization: `Bearer ${TOKEN.toUpperCase()}` }],
    ['another scheme', { authorization: `Basic ${Buffer.from(`quorum:${TOKEN}`).toString('base64')}` }],
    ['the token itself as the session cookie', { cookie: `quorum_session=${TOKEN}` }],
    ['a session signed with another token', { cookie: `quorum_session=${sessionValue('another-token-entirely', Date.now() + 60_000)}` }],
    ['an expired session', { cookie: `quorum_session=${sessionValue(TOKEN, Date.now() - 1000)}` }],
    ['a session with a forged expiry', { cookie: `quorum_session=${Date.now() + 60_000}.${sessionValue(TOKEN, Date.now() - 1000).split('.')[1]}` }],
  ])('answers 401 to %s, on the API and on Bull Board', async (_what, headers: Record<string, string>) => {
    await refused(await fetch(`${server.url}/api/bots`, { headers }), 401, /needs the QUORUM_TOKEN/);
    await refused(await fetch(`${server.url}/admin/queues/api/queues`, { headers }), 401);
    await refused(await fetch(`${server.url}/api/trading-state?token=${encodeURIComponent(TOKEN)}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"state":"ACTIVE","reason":"x"}' }), /^40[13]$/);
  });

  it('answers oversized headers and URLs with 4xx, never 500', async () => {
    await refused(await fetch(`${server.url}/api/bots`, { headers: { ...auth, 'x-junk': 'z'.repeat(64 * 1024) } }), /^4\d\d$/);
    await refused(await fetch(`${server.url}/api/orders?symbol=${'A'.repeat(20_000)}/BTC`, { headers: auth }), /^4\d\d$/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('bots that throw, hang, return garbage or allocate without bound, all at once', () => {
  const prefix = freshPrefix('badbots');
  const BAD = { thrower: /thrower exploded on purpose/, hanger: /did not answer within 2000 ms/, garbage: /invalid signal: .*action/, hog: /ran out of memory \(limit 32 MB\)/ };
  afterAll(async () => {
    await dropPrefix(prefix);
  });

  it('are contained and abstain, are counted, are quarantined after 3 failures each, and every candle is decided by the good bot', async () => {
    const pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/ADA_BTC-5m.csv'],
        'replay.lastCandles': 30,
        // Few candles ahead of the decisions, so that the quarantines take effect mid-run (the bad
        // bots' jobs for candles already fanned out still run, and still fail).
        'replay.maxInFlight': 1,
        'bots.dir': 'test/fixtures/pipeline-bots',
        // Long enough for the hog to reach its heap limit first even on a loaded machine.
        'bots.timeoutMs': 2000,
        'bots.memoryMb': 32,
        'bots.quarantineAfter': 3,
        'bots.instances': [
          { id: 'steady', bot: 'momentum' },
          { id: 'thrower', bot: 'thrower' },
          { id: 'hanger', bot: 'hanger' },
          { id: 'garbage', bot: 'garbage' },
          { id: 'hog', bot: 'memory-hog' },
        ],
      }),
    );
    const { ctx } = pipeline;
    try {
      const summary = await pipeline.replayAndDrain();
      expect(summary.decisions.total).toBe(30);
      const decisions = ((await ctx.decisions.all()) as Decision[]).sort((a, b) => a.candleTs - b.candleTs);
      // The good bot votes on every candle after its warm-up, whatever the others do.
      expect(decisions.slice(1).every((d) => d.votes.length === 1 && d.votes[0]!.instanceId === 'steady')).toBe(true);
      const { quarantined } = await ctx.health.suspended();
      for (const [id, why] of Object.entries(BAD)) {
        // Abstained with the reason while asked, then no longer asked at all.
        const asked = decisions.map((d) => d.abstentions.find((a) => a.instanceId === id)?.why);
        expect(asked.filter(Boolean).length, id).toBeGreaterThanOrEqual(1);
        expect(asked.slice(-5).every((a) => a === undefined), `${id} is not asked at the end`).toBe(true);
        expect(quarantined[id]?.reason, id).toMatch(/^3 failures in a row; last: /);
        expect(quarantined[id]?.reason, id).toMatch(why);
      }
      expect(await ctx.health.get('thrower')).toMatchObject({ ok: 0, failed: expect.any(Number) });
      expect((await ctx.health.get('hanger')).timedOut).toBeGreaterThanOrEqual(3);
      expect((await ctx.health.get('garbage')).badOutput).toBeGreaterThanOrEqual(3);
      // Out of memory, or out of time first when the machine is busy: either way a failure of its own.
      const hog = await ctx.health.get('hog');
      expect(hog.failed + hog.timedOut).toBeGreaterThanOrEqual(3);
      expect((await ctx.stats.counters())['bots.quarantined']).toBe(4);
      const alerts = (await ctx.queues.notifications.getJobs(['waiting', 'completed', 'prioritized'])).filter((j) => j.data.event === 'bot.quarantined');
      expect(alerts.map((j) => j.data.title).sort()).toEqual(['garbage', 'hanger', 'hog', 'thrower'].map((id) => expect.stringContaining(`bot instance ${id} `)));
      const reports = await instanceReports(ctx);
      expect(Object.fromEntries(reports.map((r) => [r.id, r.status]))).toEqual({ steady: 'running', thrower: 'quarantined', hanger: 'quarantined', garbage: 'quarantined', hog: 'quarantined' });
      // The worker that ran them is alive and well: it still answers.
      expect(await ctx.redis.ping()).toBe('PONG');
    } finally {
      await pipeline.close();
    }
  });
});
