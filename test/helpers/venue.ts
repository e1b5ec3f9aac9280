import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { stamp } from '../../src/contracts/envelope.ts';
import type { ExecutionMessage } from '../../src/contracts/messages.ts';
import type { Config } from '../../src/config/schema.ts';
import type { MarketOrderIntent } from '../../src/core/order.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createContext, type Context } from '../../src/main/context.ts';
import { startWorkers, type RunningWorkers } from '../../src/main/workers.ts';
import { executionQueueName } from '../../queues/names.ts';
import { startMockBinance, type MockBinance, type MockBinanceOptions } from '../mockExchange/mockBinance.ts';
import { ROOT, dropPrefix, redisUrl, testConfig } from './pipeline.ts';

/** Settings that make every wait of the execution stage short enough for a test. */
export function venueOverrides(mock: MockBinance, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'exchange.id': 'binance',
    'exchange.mode': 'testnet',
    'exchange.baseUrl': mock.url,
    'exchange.apiKey': mock.apiKey,
    'exchange.apiSecret': mock.secret,
    'exchange.timeoutMs': 600,
    'exchange.requestBudget': { costPerSecond: 1000, burst: 200 },
    'exchange.ordersPerSecond': 1000,
    'execution.lookupDelayMs': 50,
    // Longer than any delay after which the mock may still place an order (Binance: its recvWindow).
    'execution.resendAfterMs': 1500,
    'execution.backoffMs': 100,
    'execution.breaker': { failureThreshold: 1000, windowMs: 60_000, cooldownMs: 500, maxCooldownMs: 2000 },
    'replay.files': ['data/ohlcv/ETH_BTC-5m.csv', 'data/ohlcv/ADA_BTC-5m.csv'],
    ...extra,
  };
}

export interface TestVenue {
  mock: MockBinance;
  ctx: Context;
  config: Config;
  workers: RunningWorkers[];
  /** Starts (another) execution worker on the same deployment, as a second process would. */
  addWorker(queues?: string[]): Promise<RunningWorkers>;
  send(intent: Partial<MarketOrderIntent> & { clientOrderId: string }): Promise<ExecutionMessage>;
  job(clientOrderId: string): Promise<Job | undefined>;
  /** Waits until the order's job has completed or failed for good. */
  settled(clientOrderId: string, timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
}

export async function startVenue(prefix: string, options: { mock?: MockBinanceOptions; config?: Record<string, unknown>; queues?: (account: string) => string[] } = {}): Promise<TestVenue> {
  const mock = await startMockBinance({ balances: { BTC: '2', ETH: '10', ADA: '0' }, prices: { 'ETH/BTC': 0.05, 'ADA/BTC': 0.00001 }, ...options.mock });
  const config = testConfig(prefix, venueOverrides(mock, options.config));
  const log = createLogger({ level: 'silent', format: 'json' });
  const contexts: Context[] = [];
  const workers: RunningWorkers[] = [];
  const queues = options.queues?.('binance') ?? [executionQueueName('binance')];
  const addWorker = async (names = queues) => {
    const ctx = await createContext(config, log, redisUrl(), ROOT);
    contexts.push(ctx);
    const running = await startWorkers(ctx, names);
    workers.push(running);
    return running;
  };
  await addWorker();
  const ctx = contexts[0]!;
  return {
    mock,
    ctx,
    config,
    workers,
    addWorker,
    async send(intent) {
      const m: ExecutionMessage = {
        ...stamp('execution', 1, Date.now()),
        account: 'binance',
        intent: { symbol: 'ETH/BTC', side: 'buy', type: 'market', amount: '1', decisionTs: 1_700_000_000_000, reason: 'test', ...intent },
        timeframe: '5m',
        seenAt: Date.now(),
        refPrice: 0.05,
      };
      await ctx.queues.addExecution(m);
      return m;
    },
    job: (id) => ctx.queues.execution.getJob(id),
    async settled(id, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const job = await ctx.queues.execution.getJob(id);
        const state = await job?.getState();
        // Read again: the job may have finished between loading it and reading its state.
        if (job && (state === 'completed' || state === 'failed')) return (await ctx.queues.execution.getJob(id))!;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`order job ${id} did not settle within ${timeoutMs} ms (state ${await (await ctx.queues.execution.getJob(id))?.getState()})`);
    },
    async close() {
      for (const w of workers) await w.close();
      for (const c of contexts) await c.close();
      await mock.close();
      await dropPrefix(prefix);
    },
  };
}

/** Dotted overrides as a nested config object (for a config file). */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flat)) {
    const keys = path.split('.');
    let node = out;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys.at(-1)!] = value;
  }
  return out;
}

/**
 * A `quorum worker` OS process on the deployment: the config file holds everything but the
 * secrets, which come from the environment as in production.
 */
export function spawnWorker(prefix: string, mock: MockBinance, overrides: Record<string, unknown>, queues: string[]): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-venue-'));
  const configFile = join(dir, 'config.json');
  const { 'exchange.apiKey': _k, 'exchange.apiSecret': _s, ...rest } = venueOverrides(mock, overrides);
  writeFileSync(configFile, JSON.stringify(nest({ ...rest, 'redis.prefix': prefix, 'log.level': 'warn' })));
  return spawn(process.execPath, ['bin/quorum.js', '--config', configFile, 'worker', '--queues', queues.join(',')], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl(), QUORUM_LOG_FORMAT: 'json', QUORUM_API_KEY: mock.apiKey, QUORUM_API_SECRET: mock.secret },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
