import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { isBotFileName } from '../src/registry/discover.ts';
import { ROOT, dropPrefix, freshPrefix, redisUrl } from './helpers/pipeline.ts';

function quorum(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['bin/quorum.js', ...args], { cwd: ROOT, env: { ...process.env, QUORUM_LOG_LEVEL: 'silent', ...env }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function configFile(text: string, name = 'quorum.yaml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'quorum-cfg-')), name);
  writeFileSync(file, text);
  return file;
}

describe('configuration errors', () => {
  it('name the field, the problem and the file the value came from', () => {
    const file = configFile('risk:\n  maxPositionFraction: 3\nserver:\n  port: "http"\n');
    try {
      loadConfig({ file, env: {} });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(new RegExp(`risk\\.maxPositionFraction: .*<=1.*\\(got 3\\) \\[from ${file}\\]`));
      expect(problems).toMatch(/server\.port: .*expected number.*\(got "http"\)/);
    }
  });

  it('name the environment variable when the value came from there', () => {
    expect(() => loadConfig({ env: { QUORUM_MODE: 'yolo' } })).toThrow(ConfigError);
    try {
      loadConfig({ env: { QUORUM_MODE: 'yolo' } });
    } catch (error) {
      expect((error as ConfigError).problems[0]).toMatch(/exchange\.mode: .*\(got "yolo"\) \[from environment variable QUORUM_MODE\]/);
    }
  });

  it('refuse unknown fields, so that a typo does not silently fall back to a default', () => {
    const file = configFile('risk:\n  maxPositionFractoin: 0.2\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(ConfigError);
    try {
      loadConfig({ file, env: {} });
    } catch (error) {
      expect((error as ConfigError).problems[0]).toMatch(/risk: unknown field "maxPositionFractoin"/);
    }
  });

  it('refuse secrets in a file: they come from the environment only', () => {
    const file = configFile('exchange:\n  apiKey: fake-key-in-a-file\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/secrets are read from the environment only.*QUORUM_API_KEY/);
  });

  it('make `quorum config check` exit non-zero with the field named', () => {
    const file = configFile('bots:\n  timeoutMs: -5\n');
    const run = quorum(['--config', file, 'config', 'check']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bots\.timeoutMs: .*\(got -5\)/);
  });

  it('make `quorum config check` name the missing secret of an enabled notification channel, and pass once it is set', () => {
    const file = configFile('notify:\n  webhook:\n    enabled: true\n');
    const missing = quorum(['--config', file, 'config', 'check'], { QUORUM_WEBHOOK_URL: 'http://127.0.0.1:9/hook' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('notify.webhook is enabled but QUORUM_WEBHOOK_SECRET (the HMAC key) is not set in the environment');
    const set = quorum(['--config', file, 'config', 'check', '--json'], { QUORUM_WEBHOOK_URL: 'http://127.0.0.1:9/hook', QUORUM_WEBHOOK_SECRET: 'a-webhook-secret-of-some-length' });
    expect(set.code).toBe(0);
    expect(set.stdout).not.toContain('a-webhook-secret-of-some-length');
  });

  it('print the effective config with secrets masked', () => {
    const run = quorum(['config', 'check', '--json'], { QUORUM_TOKEN: 'fake-token-0123456789abcdef', QUORUM_API_KEY: 'fake-api-key-ZZZZ' });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('fake-token-0123456789abcdef');
    expect(run.stdout).not.toContain('fake-api-key-ZZZZ');
    const out = JSON.parse(run.stdout);
    expect(out.config.server.token).toBe('***masked***');
    expect(out.config.exchange.apiKey).toBe('***masked***');
    expect(out.sources['server.token']).toBe('environment variable QUORUM_TOKEN');
  });
});

describe('quorum candles --from-trades', () => {
  it('rebuilds the real 1m and 5m candles from the real trades, byte for byte', () => {
    for (const tf of ['1m', '5m']) {
      const run = quorum(['candles', '--from-trades', 'data/trades/XRP_ETH-trades.csv', '--timeframe', tf]);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(readFileSync(join(ROOT, `data/ohlcv/XRP_ETH-${tf}.csv`), 'utf8'));
    }
  });

  it('refuses a bad timeframe and a missing file with a clear message', () => {
    expect(quorum(['candles', '--from-trades', 'data/trades/XRP_ETH-trades.csv', '--timeframe', '7x']).stderr).toMatch(/--timeframe "7x" is not a timeframe/);
    const missing = quorum(['candles', '--from-trades', 'nope.csv']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.csv/);
  });
});

describe('quorum bots', () => {
  it('lists every bot file, what loaded and what failed and why', () => {
    const run = quorum(['bots', '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    const files = readdirSync(join(ROOT, 'bots')).filter(isBotFileName);
    expect(out.loaded.map((b: { id: string }) => `${b.id}.ts`).sort()).toEqual(files.sort());
    expect(out.failed).toEqual([]);
    expect(out.files).toBe(out.loaded.length);
  });

  it('reports a broken bot file and still loads the others, exiting non-zero', () => {
    const file = configFile('bots:\n  dir: test/fixtures/bots\n  instances: []\n');
    const run = quorum(['--config', file, 'bots', '--json']);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout);
    expect(out.loaded.map((b: { id: string }) => b.id)).toEqual(['fixture-good']);
    const why = Object.fromEntries(out.failed.map((f: { file: string; error: string }) => [f.file.split('/').at(-1), f.error]));
    // A syntax error, the wrong shape, and defaults that fail their own schema: each with its reason.
    expect(why['syntax-error.ts']).toMatch(/does not compile: .*Expected "}" but found "\)"/);
    expect(why['bad-shape.ts']).toMatch(/default export is not a valid bot: apiVersion: must be 1/);
    expect(why['bad-defaults.ts']).toMatch(/its default params fail its own schema: fast: fast must be less than slow/);
    const text = quorum(['--config', file, 'bots']);
    expect(text.stdout).toMatch(/FAILED .*syntax-error\.ts: syntax-error\.ts: does not compile/);
    expect(text.stdout).toMatch(/ok {6}fixture-good@0\.1\.0/);
  });
});

describe('quorum trading and quorum bots disable', () => {
  const prefix = freshPrefix('cli-kill');
  const env = { REDIS_URL: redisUrl(), QUORUM_REDIS_PREFIX: prefix };
  afterAll(async () => {
    await dropPrefix(prefix);
  });

  it('refuses an unknown action or a change without a reason, throws and lifts the switch, and names an unknown instance', () => {
    expect(quorum(['trading', 'panic'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown action "panic"/) });
    expect(quorum(['trading', 'halt'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs --reason/) });
    expect(quorum(['trading', 'halt', '--reason', 'venue outage'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^trading HALTED: venue outage \(by cli/) });
    expect(quorum(['trading', 'status', '--json'], env).stdout).toMatch(/"state":"HALTED"/);
    expect(quorum(['trading', 'resume', '--reason', 'venue back'], env).stdout).toMatch(/^trading ACTIVE: venue back/);
    expect(quorum(['bots', 'disable', 'no-such-bot', '--reason', 'x'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/no configured bot instance "no-such-bot"/) });
    expect(quorum(['bots', 'disable', 'rsi-reversion-14-ada-btc'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs --reason/) });
  });
});

describe('live trading', () => {
  // Redis is pointed at a closed port: the refusal must come before anything connects.
  const offline = { REDIS_URL: 'redis://127.0.0.1:1', QUORUM__REDIS__START_PRIVATE: 'false' };

  it('refuses to start without API keys, and says which variables to set', () => {
    const out = quorum(['start', '--exit', '--confirm-live'], { ...offline, QUORUM_MODE: 'live', QUORUM_EXCHANGE: 'binance' });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/refusing to start live trading on binance/);
    expect(out.stderr).toMatch(/QUORUM_API_KEY and QUORUM_API_SECRET/);
  });

  it('refuses to start with keys but without --confirm-live, and keeps the keys out of its output', () => {
    const secret = 'sk-live-distinctive-9f3a7c21e0';
    const out = quorum(['worker', '--queues', 'execution-binance'], { ...offline, QUORUM_MODE: 'live', QUORUM_EXCHANGE: 'binance', QUORUM_API_KEY: 'ak-live-distinctive-1b2c3d', QUORUM_API_SECRET: secret });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/live mode trades real money: start it with --confirm-live as well/);
    expect(out.stderr + out.stdout).not.toMatch(/distinctive/);
  });
});

describe('audit verify', () => {
  const prefix = freshPrefix('cli-audit');
  afterAll(() => dropPrefix(prefix));

  it('says the chain is intact, and names the entry that was tampered with', async () => {
    const { createRedis } = await import('../src/infra/redis.ts');
    const { keyspace } = await import('../src/infra/keys.ts');
    const { AuditLog } = await import('../src/store/auditLog.ts');
    const redis = createRedis(redisUrl());
    const keys = keyspace(prefix);
    const log = new AuditLog(redis, keys);
    for (let i = 0; i < 3; i++) await log.append('order.placed', { clientOrderId: `qb-X-${i}` });
    await log.close();
    const env = { REDIS_URL: redisUrl(), QUORUM_REDIS_PREFIX: prefix };
    expect(quorum(['audit', 'verify'], env)).toMatchObject({ code: 0, stdout: 'audit log intact: 3 entries\n' });

    // Rewrite the stream with entry 2's content changed (a stream cannot be edited in place).
    const entries = (await redis.xrange(keys.audit, '-', '+')).map(([, fields]) => JSON.parse(fields[1]!));
    await redis.del(keys.audit);
    for (const e of entries) await redis.xadd(keys.audit, '*', 'e', JSON.stringify(e.seq === 2 ? { ...e, data: { clientOrderId: 'qb-X-forged' } } : e));
    const out = quorum(['audit', 'verify', '--json'], env);
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: false, seq: 2, problem: expect.stringMatching(/does not match its hash/) });
    await redis.quit();
  });
});

describe('breaker', () => {
  const prefix = freshPrefix('cli-breaker');
  afterAll(() => dropPrefix(prefix));

  it('shows an open breaker, refuses a reset without a reason, and closes it by hand, resuming the queue', async () => {
    const { createRedis } = await import('../src/infra/redis.ts');
    const { keyspace } = await import('../src/infra/keys.ts');
    const { BreakerStore } = await import('../src/store/breakerStore.ts');
    const { AuditLog } = await import('../src/store/auditLog.ts');
    const { Queue } = await import('bullmq');
    const redis = createRedis(redisUrl());
    const keys = keyspace(prefix);
    const store = new BreakerStore(redis, keys, 'binance', { failureThreshold: 5, windowMs: 60_000, cooldownMs: 30_000, maxCooldownMs: 600_000 });
    for (let i = 0; i < 5; i++) await store.record({ type: 'failure', at: Date.now(), reason: 'binance fetchBalance failed (NetworkError): socket hang up' });
    const queue = new Queue('execution-binance', { connection: redis, prefix: keys.root });
    await queue.pause();
    const env = { REDIS_URL: redisUrl(), QUORUM_REDIS_PREFIX: prefix, QUORUM_EXCHANGE: 'binance', QUORUM_MODE: 'testnet' };

    const status = quorum(['breaker', '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ account: 'binance', state: { status: 'open', reason: expect.stringMatching(/socket hang up/) }, queuePaused: true, nextProbeAt: expect.any(Number) });
    expect(quorum(['breaker', 'reset'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs --reason/) });

    const reset = quorum(['breaker', 'reset', '--reason', 'exchange back up'], env);
    expect(reset).toMatchObject({ code: 0, stdout: 'breaker of binance: closed; execution queue running\n' });
    expect(await queue.isPaused()).toBe(false);
    expect((await store.state()).status).toBe('closed');
    const audit = await new AuditLog(redis, keys).entries();
    expect(audit.at(-1)).toMatchObject({ type: 'breaker.closed', data: { account: 'binance', reason: 'reset by hand: exchange back up' } });
    await queue.close();
    await redis.quit();
  });
});
