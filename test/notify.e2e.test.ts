import { Writable } from 'node:stream';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stamp } from '../src/contracts/envelope.ts';
import type { NotificationMessage } from '../src/contracts/messages.ts';
import { createContext, type Context } from '../src/main/context.ts';
import { startWorkers, type RunningWorkers } from '../src/main/workers.ts';
import { discordPayload, emailContent, slackPayload, telegramPayload, webhookPayload } from '../src/notify/format.ts';
import { verifySignature } from '../src/notify/signature.ts';
import { NotifyStore } from '../src/store/notifyStore.ts';
import { DAILY_SUMMARY_JOB, DIGEST_JOB, MONITOR_JOB, QUEUE } from '../queues/names.ts';
import { deadPort, HttpReceiver, SmtpReceiver } from './helpers/notifyServers.ts';
import { dropPrefix, freshPrefix, redisUrl, ROOT, testConfig, waitFor } from './helpers/pipeline.ts';

// The notifications queue end to end on the real Redis, delivering to local servers: an HTTP
// server in place of Telegram, Discord, Slack and a webhook receiver, and a real SMTP server.

const TOKEN = '987654:secret-bot-token_xyz';
const DISCORD_TOKEN = 'discord-webhook-token-abc123';
const SLACK_TOKEN = 'slack-webhook-token-def456';
const HMAC = 'webhook-hmac-secret-0123456789';
const SMTP = { user: 'quorum', pass: 'smtp-password-789' };
const SECRETS = [TOKEN, DISCORD_TOKEN, SLACK_TOKEN, HMAC, SMTP.pass];

let http: HttpReceiver;
let smtp: SmtpReceiver;

beforeAll(async () => {
  http = await new HttpReceiver().start();
  smtp = await new SmtpReceiver(SMTP).start();
});
afterAll(async () => {
  await http.close();
  await smtp.close();
});

interface Running {
  ctx: Context;
  workers: RunningWorkers;
  logs: string[];
  prefix: string;
}
const running: Running[] = [];

/** A notifications worker with every channel enabled, pointed at the local servers; `env` and `over` change that. */
async function start(options: { env?: Record<string, string>; config?: Record<string, unknown>; concurrency?: number } = {}): Promise<Running> {
  const prefix = freshPrefix('notify');
  const config = testConfig(prefix, {
    'notify.telegram': { enabled: true, chatId: '-100200300', apiBaseUrl: http.url('/tg') },
    'notify.discord': { enabled: true },
    'notify.slack': { enabled: true },
    'notify.webhook': { enabled: true },
    'notify.email': { enabled: true, host: '127.0.0.1', port: smtp.port, user: SMTP.user, from: 'quorum@example.test', to: ['ops@example.test'] },
    'notify.delivery': { attempts: 3, backoffMs: 200, timeoutMs: 2000 },
    'notify.digest': { everySeconds: 3600, priorities: ['info'] },
    'workers.notifications': options.concurrency ?? 4,
    ...options.config,
  });
  const env = {
    QUORUM_TELEGRAM_BOT_TOKEN: TOKEN,
    QUORUM_DISCORD_WEBHOOK_URL: http.url(`/discord/123/${DISCORD_TOKEN}`),
    QUORUM_SLACK_WEBHOOK_URL: http.url(`/slack/T1/B2/${SLACK_TOKEN}`),
    QUORUM_WEBHOOK_URL: http.url('/hook/quorum'),
    QUORUM_WEBHOOK_SECRET: HMAC,
    QUORUM_SMTP_PASSWORD: SMTP.pass,
    ...options.env,
  };
  const logs: string[] = [];
  // A logger that scrubs nothing: what the code logs is what the test sees.
  const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, cb) => (logs.push(String(chunk)), cb()) }));
  const ctx = await createContext(config, log, redisUrl(), ROOT);
  const workers = await startWorkers(ctx, [QUEUE.notifications], { env });
  const r = { ctx, workers, logs, prefix };
  running.push(r);
  // The schedulers' first runs (digest flush, monitor) happen at start: let them pass.
  await waitFor(async () => {
    const c = await ctx.queues.notifications.getJobCounts('waiting', 'prioritized', 'active');
    return (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0) === 0;
  });
  return r;
}

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.workers.close();
    await r.ctx.close();
    await dropPrefix(r.prefix);
  }
  http.received.length = 0;
  smtp.mails.length = 0;
  for (const k of Object.keys(http.behaviour)) delete http.behaviour[k];
});

function event(over: Partial<NotificationMessage> = {}): NotificationMessage {
  return { ...stamp('notification', 1, Date.now()), priority: 'critical', event: 'breaker.opened', title: 'binance breaker opened: execution paused', body: '5 venue failures within 60 s; last: timeout', ...over };
}

const asDeliverable = (m: NotificationMessage) => ({ id: m.id, event: m.event, priority: m.priority, title: m.title, body: m.body, at: m.at });

describe('notifications', () => {
  it('delivers an event to every channel with the exact payload each expects', async () => {
    const { ctx } = await start();
    const m = event();
    await ctx.queues.notify(m);
    await waitFor(async () => ['tg', 'discord', 'slack', 'hook'].every((r) => http.on(r).length === 1) && smtp.mails.length === 1);
    const n = asDeliverable(m);

    const [tg] = http.on('tg');
    expect(tg!.path).toBe(`/tg/bot${TOKEN}/sendMessage`);
    expect(tg!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(tg!.raw)).toEqual(telegramPayload('-100200300', n));

    const [discord] = http.on('discord');
    expect(discord!.path).toBe(`/discord/123/${DISCORD_TOKEN}`);
    expect(JSON.parse(discord!.raw)).toEqual(discordPayload(n));

    const [slack] = http.on('slack');
    expect(slack!.path).toBe(`/slack/T1/B2/${SLACK_TOKEN}`);
    expect(JSON.parse(slack!.raw)).toEqual(slackPayload(n));

    const [hook] = http.on('hook');
    const sentAt = Number(hook!.headers['x-quorum-timestamp']);
    expect(JSON.parse(hook!.raw)).toEqual(webhookPayload(n, sentAt));
    expect(hook!.headers['x-quorum-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(HMAC, hook!.raw, hook!.headers['x-quorum-signature'] as string)).toBe(true);
    expect(verifySignature('another-secret-entirely', hook!.raw, hook!.headers['x-quorum-signature'] as string)).toBe(false);

    const [mail] = smtp.mails;
    const { subject, text } = emailContent(n);
    expect(mail).toMatchObject({ from: 'quorum@example.test', to: ['ops@example.test'], user: SMTP.user, subject });
    expect(mail!.text.trimEnd()).toBe(text.trimEnd());
    expect(mail!.headers['x-quorum-event']).toBe('breaker.opened');

    await waitFor(async () => ((await ctx.stats.counters())['notifications.delivered.email'] ?? 0) === 1);
    const counters = await ctx.stats.counters();
    for (const c of ['telegram', 'discord', 'slack', 'webhook', 'email']) expect(counters[`notifications.delivered.${c}`]).toBe(1);
  });

  it('delivers to the working channels at once while others hang, fail with 500 or are not listening, and retries those on their own', async () => {
    http.behaviour.tg = { kind: 'hang' };
    http.behaviour.discord = { kind: 'status', status: 500, body: '{"message":"internal"}' };
    const { ctx } = await start({
      env: { QUORUM_SLACK_WEBHOOK_URL: `http://127.0.0.1:${await deadPort()}/slack/${SLACK_TOKEN}` },
      config: { 'notify.delivery': { attempts: 3, backoffMs: 200, timeoutMs: 5000 } },
    });
    const sent = Date.now();
    await ctx.queues.notify(event());
    await waitFor(async () => http.on('hook').length === 1 && smtp.mails.length === 1, 5000);
    // Telegram holds its own slot for up to 5 s; the working channels did not wait for it.
    expect(Math.max(http.on('hook')[0]!.at, smtp.mails[0]!.at) - sent).toBeLessThan(2500);
    expect(http.on('tg')).toHaveLength(1);

    // Each failing channel is retried by its own job, with backoff, then fails with a reason that names no secret.
    await waitFor(async () => (await ctx.queues.notifications.getFailed()).length === 2, 20_000);
    expect(http.on('discord')).toHaveLength(3);
    const failed = Object.fromEntries((await ctx.queues.notifications.getFailed()).map((j) => [j.data.channel as string, j]));
    expect(failed.discord!.failedReason).toBe('discord: HTTP 500: internal');
    expect(failed.discord!.attemptsMade).toBe(3);
    expect(failed.slack!.failedReason).toBe('slack: unreachable (ECONNREFUSED)');
    expect(failed.slack!.attemptsMade).toBe(3);
    expect(http.on('hook')).toHaveLength(1);
    // The hanging delivery is still waiting on its own (until its timeout, then its own retries).
    const tg = (await ctx.queues.notifications.getJobs(['active', 'delayed', 'prioritized', 'waiting'])).filter((j) => j.data.channel === 'telegram');
    expect(tg).toHaveLength(1);
  });

  it('gives up on a channel that does not answer within the timeout, as a retryable failure', async () => {
    http.behaviour.tg = { kind: 'hang' };
    const { ctx } = await start({ config: { 'notify.delivery': { attempts: 2, backoffMs: 100, timeoutMs: 300 }, 'notify.discord': { enabled: false }, 'notify.slack': { enabled: false }, 'notify.email': { enabled: false } } });
    await ctx.queues.notify(event());
    await waitFor(async () => (await ctx.queues.notifications.getFailed()).length === 1, 10_000);
    const [failed] = await ctx.queues.notifications.getFailed();
    expect(failed!.failedReason).toBe('telegram: no answer in time');
    expect(failed!.attemptsMade).toBe(2);
    expect(http.on('tg')).toHaveLength(2);
    expect(http.on('hook')).toHaveLength(1);
  });

  it('fails a channel that refuses the message (4xx) at once, and waits as long as a throttled one asks', async () => {
    http.behaviour.hook = { kind: 'status', status: 401, body: '{"message":"bad signature"}' };
    http.behaviour.discord = { kind: 'throttle', retryAfterSeconds: 1, then: 1 };
    const { ctx } = await start();
    await ctx.queues.notify(event());
    await waitFor(async () => http.on('discord').length === 2, 10_000);
    const [first, second] = http.on('discord');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    await waitFor(async () => (await ctx.queues.notifications.getFailed()).length === 1);
    const [failed] = await ctx.queues.notifications.getFailed();
    expect(failed!.data.channel).toBe('webhook');
    expect(failed!.failedReason).toBe('webhook: refused (HTTP 401: bad signature)');
    expect(failed!.attemptsMade).toBe(1);
    expect(http.on('hook')).toHaveLength(1);
  });

  it('sends critical events before lower priorities that were waiting', async () => {
    const { ctx, workers } = await start({ concurrency: 1, config: { 'notify.telegram': { enabled: false }, 'notify.discord': { enabled: false }, 'notify.slack': { enabled: false }, 'notify.email': { enabled: false } } });
    await Promise.all(workers.workers.map((w) => w.pause()));
    await ctx.queues.notify(event({ priority: 'warning', event: 'ledger.drift', title: 'drift' }));
    await ctx.queues.notify(event({ priority: 'error', event: 'bot.quarantined', title: 'quarantined' }));
    await ctx.queues.notify(event({ priority: 'critical', event: 'kill-switch', title: 'halted' }));
    workers.workers.forEach((w) => w.resume());
    await waitFor(async () => http.on('hook').length === 3);
    expect(http.on('hook').map((r) => JSON.parse(r.raw).title)).toEqual(['halted', 'quarantined', 'drift']);
  });

  it('sends duplicates within the window once, and logs every one', async () => {
    const { ctx, logs } = await start({ config: { 'notify.telegram': { enabled: false }, 'notify.discord': { enabled: false }, 'notify.slack': { enabled: false }, 'notify.email': { enabled: false } } });
    await ctx.queues.notify(event({ dedupeKey: 'binance' }));
    await ctx.queues.notify(event({ dedupeKey: 'binance', body: 'said again, differently' }));
    await ctx.queues.notify(event({ dedupeKey: 'kraken', title: 'kraken breaker opened' }));
    await ctx.queues.notify(event({ dedupeKey: 'binance', event: 'breaker.closed', title: 'closed', priority: 'warning' }));
    await waitFor(async () => (await ctx.queues.notifications.getCompleted()).filter((j) => j.name !== '_deliver' && !j.name.startsWith('_')).length === 4);
    await waitFor(async () => http.on('hook').length === 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(http.on('hook').map((r) => JSON.parse(r.raw).title).sort()).toEqual(['binance breaker opened: execution paused', 'closed', 'kraken breaker opened']);
    expect((await ctx.stats.counters())['notifications.suppressed']).toBe(1);
    expect(logs.filter((l) => l.includes('"event":"breaker.opened"'))).toHaveLength(3);
    expect(logs.filter((l) => l.includes('"duplicate":true'))).toHaveLength(1);
  });

  it('batches info events into one digest per channel, leaving out channels above info', async () => {
    const { ctx } = await start({ config: { 'notify.discord': { enabled: true, minPriority: 'warning' }, 'notify.telegram': { enabled: false }, 'notify.email': { enabled: false } } });
    for (const i of [1, 2, 3]) await ctx.queues.notify(event({ priority: 'info', event: 'order.filled', title: `buy ${i} ADA filled`, body: `order qb-${i}`, dedupeKey: `qb-${i}` }));
    const store = new NotifyStore(ctx.redis, ctx.keys);
    await waitFor(async () => (await store.pendingDigestLength()) === 3);
    expect(http.received).toHaveLength(0);

    await ctx.queues.notifications.add(DIGEST_JOB, {}, { jobId: 'digest-now' });
    await waitFor(async () => http.on('hook').length === 1 && http.on('slack').length === 1);
    const digest = JSON.parse(http.on('hook')[0]!.raw);
    expect(digest).toMatchObject({ event: 'digest', priority: 'info', title: expect.stringMatching(/^Quorum digest: 3 events since .* \(order\.filled ×3\)$/) });
    expect(digest.body.split('\n').map((l: string) => l.slice(9)).sort()).toEqual(['buy 1 ADA filled — order qb-1', 'buy 2 ADA filled — order qb-2', 'buy 3 ADA filled — order qb-3']);
    expect(await store.pendingDigestLength()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(http.on('discord')).toHaveLength(0);
  });

  it('announces drawdown thresholds, a lost worker and the daily summary from the scheduled checks', async () => {
    const { ctx } = await start({
      config: { 'notify.telegram': { enabled: false }, 'notify.discord': { enabled: false }, 'notify.slack': { enabled: false }, 'notify.email': { enabled: false }, 'notify.monitor': { workerLostAfterSeconds: 1, drawdownThresholds: [0.05, 0.1] } },
    });
    // The paper account holds 1 BTC; a peak of 1.3 is a 23 % drawdown, past the configured maximum (20 %).
    await ctx.redis.hset(ctx.keys.equityPeak(ctx.account), 'BTC', '1.3');
    const ticks = new Worker(QUEUE.ticks, async () => {}, { connection: ctx.redis, prefix: ctx.queues.prefix });
    await ticks.waitUntilReady();
    await waitFor(async () => (await ctx.queues.ticks.getWorkersCount()) === 1);
    await ctx.queues.notifications.add(MONITOR_JOB, {}, { jobId: 'monitor-1' });
    await waitFor(async () => http.on('hook').length === 1);
    expect(JSON.parse(http.on('hook')[0]!.raw)).toMatchObject({ event: 'drawdown.crossed', priority: 'critical', title: 'BTC drawdown 23.1% crossed 10.0%' });

    await ticks.close();
    await new Promise((r) => setTimeout(r, 1100));
    await ctx.queues.notifications.add(MONITOR_JOB, {}, { jobId: 'monitor-2' });
    await waitFor(async () => http.on('hook').length === 2);
    expect(JSON.parse(http.on('hook')[1]!.raw)).toMatchObject({ event: 'worker.lost', priority: 'critical', title: 'no worker serves queue ticks' });

    await ctx.queues.notifications.add(DAILY_SUMMARY_JOB, {}, { jobId: 'summary-1' });
    await waitFor(async () => http.on('hook').length === 3);
    const summary = JSON.parse(http.on('hook')[2]!.raw);
    expect(summary).toMatchObject({ event: 'daily.summary', priority: 'info', title: expect.stringMatching(/^Quorum daily summary \d{4}-\d{2}-\d{2} \(paper\)$/) });
    expect(summary.body).toMatch(/^equity BTC: 1, drawdown 23\.1%, 0 open positions$/m);
    expect(summary.body).toMatch(/^no worker serving: ticks$/m);
  });

  it('keeps every secret out of job data, failure reasons, Redis and the log', async () => {
    http.behaviour.discord = { kind: 'status', status: 403, body: `{"message":"Invalid Webhook Token ${DISCORD_TOKEN}"}` };
    const { ctx, logs } = await start();
    await ctx.queues.notify(event());
    await ctx.queues.notify(event({ priority: 'info', event: 'order.filled', title: 'filled' }));
    await waitFor(async () => http.on('hook').length === 1 && smtp.mails.length === 1 && (await ctx.queues.notifications.getFailed()).length === 1);
    const [failed] = await ctx.queues.notifications.getFailed();
    expect(failed!.failedReason).toBe('discord: refused (HTTP 403: Invalid Webhook Token [REDACTED])');

    const jobs = await ctx.queues.notifications.getJobs(['completed', 'failed', 'waiting', 'delayed', 'prioritized', 'active']);
    expect(jobs.length).toBeGreaterThanOrEqual(7);
    const everything = [JSON.stringify(jobs.map((j) => [j.name, j.data, j.opts, j.returnvalue, j.failedReason, j.stacktrace])), ...logs, ...(await redisValues(ctx))].join('\n');
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    expect(everything).toContain('binance breaker opened');
  });

  it('refuses to start with an enabled channel whose secret is missing, naming the variable', async () => {
    const prefix = freshPrefix('notify');
    const config = testConfig(prefix, { 'notify.slack': { enabled: true } });
    const ctx = await createContext(config, pino({ level: 'silent' }), redisUrl(), ROOT);
    try {
      await expect(startWorkers(ctx, [QUEUE.notifications], { env: {} })).rejects.toMatchObject({
        name: 'StartupError',
        message: 'notification channels are misconfigured',
        problems: ['notify.slack is enabled but QUORUM_SLACK_WEBHOOK_URL (the webhook URL) is not set in the environment'],
      });
    } finally {
      await ctx.close();
      await dropPrefix(prefix);
    }
  });
});

/** Every value stored under the test's prefix, whatever its type. */
async function redisValues(ctx: Context): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await ctx.redis.scan(cursor, 'MATCH', `${ctx.keys.root}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await ctx.redis.type(key);
      if (type === 'string') out.push((await ctx.redis.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await ctx.redis.hgetall(key)));
      else if (type === 'list') out.push(...(await ctx.redis.lrange(key, 0, -1)));
      else if (type === 'zset') out.push(...(await ctx.redis.zrange(key, 0, -1)));
      else if (type === 'set') out.push(...(await ctx.redis.smembers(key)));
      else if (type === 'stream') out.push(JSON.stringify(await ctx.redis.xrange(key, '-', '+')));
      out.push(key);
    }
  } while (cursor !== '0');
  return out;
}
