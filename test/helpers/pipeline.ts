import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createRedis, deleteDeploymentKeys, type Redis } from '../../src/infra/redis.ts';
import { createContext, type Context } from '../../src/main/context.ts';
import { runReplay, summarize, waitForDrain, type RunSummary } from '../../src/main/pipeline.ts';
import { startWorkers, type RunningWorkers } from '../../src/main/workers.ts';
import { allQueueNames } from '../../queues/names.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;

/** Three simple bots on every replayed market: the instance set of tests about pipeline mechanics. */
export const STARTER_INSTANCES = [
  { id: 'ema-fast', bot: 'ema-crossover', markets: ['*'], params: { fast: 9, slow: 21 } },
  { id: 'rsi-14', bot: 'rsi-reversion', markets: ['*'] },
  { id: 'donchian-20', bot: 'donchian-breakout', markets: ['*'] },
];

export function redisUrl(): string {
  return inject('redisUrl');
}

/** A prefix no other test uses, so that tests never see each other's keys or jobs. */
export function freshPrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`.slice(0, 40);
}

/** The config of a test run: defaults, a private prefix, the given overrides (dotted paths). */
export function testConfig(prefix: string, overrides: Record<string, unknown> = {}): Config {
  return loadConfig({
    file: undefined,
    env: {},
    cwd: ROOT,
    overrides: {
      'redis.url': redisUrl(),
      'redis.prefix': prefix,
      'log.level': 'silent',
      'log.format': 'json',
      // Keep every finished job so that tests can inspect who processed what.
      'queues.keepCompleted': { age: 3600, count: 100_000 },
      ...overrides,
    },
  }).config;
}

export interface TestPipeline {
  ctx: Context;
  config: Config;
  workers: RunningWorkers | undefined;
  replayAndDrain(): Promise<RunSummary>;
  close(): Promise<void>;
}

/** A whole pipeline in this process on the real Redis, with workers for `queues` (default: all). */
export async function startPipeline(config: Config, options: { queues?: string[] } = {}): Promise<TestPipeline> {
  const log = createLogger({ level: 'silent', format: 'json' });
  const ctx = await createContext(config, log, redisUrl(), ROOT);
  const queues = options.queues ?? allQueueNames(ctx.account);
  const workers = queues.length > 0 ? await startWorkers(ctx, queues) : undefined;
  const startedAt = Date.now();
  return {
    ctx,
    config,
    workers,
    async replayAndDrain() {
      await runReplay(ctx);
      const drained = await waitForDrain(ctx, { timeoutMs: 120_000 });
      if (!drained) throw new Error('pipeline did not drain within 120 s');
      return summarize(ctx, startedAt);
    },
    async close() {
      await workers?.close();
      await ctx.close();
    },
  };
}

/** Deletes every key of a test prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis: Redis = createRedis(redisUrl());
  await deleteDeploymentKeys(redis, prefix);
  await redis.quit();
}

/** Polls `check` until it holds; fails the test after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
