/**
 * Pipeline benchmarks on one market with 200 cheap bot instances: analysis throughput beside raw
 * BullMQ no-op jobs (same Redis, same worker concurrency, same process layout), throughput with two
 * analysis worker processes beside one, and candle-to-decision and candle-to-fill latency with
 * candles arriving at about half the measured capacity.
 *
 * Layout, as `docker compose` deploys it: analysis in its own worker process(es) (the compose
 * file's `analyst` environment), ticks, coordinator, paper execution and notifications (no channel configured) in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { parse } from 'yaml';
import { stamp } from '../src/contracts/envelope.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Candle } from '../src/core/candle.ts';
import { timeframeMs } from '../src/core/timeframe.ts';
import { readCandleFile } from '../src/feed/candleCsv.ts';
import { resolveReplayFiles } from '../src/feed/replayFiles.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createRedis, deleteDeploymentKeys } from '../src/infra/redis.ts';
import { createContext } from '../src/main/context.ts';
import { waitForDrain } from '../src/main/pipeline.ts';
import { startWorkers } from '../src/main/workers.ts';
import { defaultJobOptions } from '../queues/options.ts';
import { QUEUE } from '../queues/names.ts';

const FILE = 'data/ohlcv/XMR_BTC-5m.csv';
/** Candles stored before the run, so that every instance is past its warm-up from the first tick. */
const HISTORY = 320;
/** Candles fed (and not measured) after start-up: bot code compiled and loaded, JIT warm. */
const WARM_UP = 6;

/** 200 cheap instances: variants of three bundled bots (EMA crossover, RSI, Donchian breakout). */
export function benchInstances(): Array<{ id: string; bot: string; markets: string[]; params: Record<string, unknown> }> {
  const out: Array<{ id: string; bot: string; markets: string[]; params: Record<string, unknown> }> = [];
  for (let i = 0; i < 80; i++) {
    const fast = 3 + (i % 10);
    const slow = fast + 8 + Math.floor(i / 10) * 5; // up to 54: warm-up 3 × slow ≤ 162
    out.push({ id: `ema-${fast}-${slow}`, bot: 'ema-crossover', markets: ['*'], params: { fast, slow } });
  }
  for (let i = 0; i < 60; i++) {
    const period = 5 + (i % 30);
    const band = i < 30 ? 30 : 25;
    out.push({ id: `rsi-${period}-${band}`, bot: 'rsi-reversion', markets: ['*'], params: { period, oversold: band, overbought: 100 - band } });
  }
  for (let i = 0; i < 60; i++) out.push({ id: `donchian-${10 + i * 2}`, bot: 'donchian-breakout', markets: ['*'], params: { period: 10 + i * 2 } });
  return out;
}

/** The analysis worker as deployed: the environment of the `analyst` service in docker-compose.yml. */
export function deployedAnalystEnv(root: string): { NODE_OPTIONS: string; QUORUM__WORKERS__BOT_THREADS: string } {
  const compose = parse(readFileSync(`${root}/docker-compose.yml`, 'utf8')) as { services: { analyst: { environment: Record<string, string> } } };
  const env = compose.services.analyst.environment;
  return { NODE_OPTIONS: env.NODE_OPTIONS ?? '', QUORUM__WORKERS__BOT_THREADS: env.QUORUM__WORKERS__BOT_THREADS ?? '1' };
}

/** Resident memory of a process, MB (Linux /proc). */
export function rssMbOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+) kB/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function summarizeMs(values: readonly number[]): { n: number; p50: number | null; p99: number | null; max: number | null } {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

interface PipelineRun {
  analysisProcesses: number;
  /** Candles measured; one decision and `instances` analysis jobs each. */
  candles: number;
  /** Feed all at once (null: the capacity) or one every `intervalMs` (the latency run). */
  intervalMs: number | null;
}

export interface PipelineResult {
  analysisProcesses: number;
  instances: number;
  candles: number;
  intervalMs: number | null;
  wallMs: number;
  decisionsPerS: number;
  analysisJobsPerS: number;
  decisionLatencyMs: ReturnType<typeof summarizeMs>;
  /** Decision candle seen → order recorded at the venue. */
  orderLatencyMs: ReturnType<typeof summarizeMs>;
  /** Candle that fills the order (the paper venue fills a market order at the next candle's open) seen → fill recorded. */
  fillLatencyMs: ReturnType<typeof summarizeMs>;
  analysisWorkerRssMb: number[];
  /** Over the whole run, warm-up included. */
  decisions: { buy: number; sell: number; hold: number; orders: number; fills: number };
  /** Measured decisions by action and the risk engine's reason (numbers elided). */
  outcomes: Record<string, number>;
  denials: Record<string, number>;
  waits: Record<string, number>;
}

/** One run of the pipeline on a private prefix: stores history, warms up, then feeds and measures. */
export async function runPipeline(root: string, redisUrl: string, run: PipelineRun): Promise<PipelineResult> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const instances = benchInstances();
  const overrides = {
    'redis.url': redisUrl,
    'redis.prefix': prefix,
    'log.level': 'warn',
    'log.format': 'json',
    'replay.files': [FILE],
    'bots.instances': instances,
    // Looser than the defaults so that 200 voters trade often enough to time fills...
    'coordinator.minAgreement': 0.3,
    'coordinator.minConfidence': 0.02,
    // ...and leave each position after two candles, so that entries and exits keep coming.
    'risk.exits.maxHoldCandles': 2,
    'risk.minEdgeSamples': 0,
  };
  const { config } = loadConfig({ file: undefined, env: {}, cwd: root, overrides });
  const ctx = await createContext(config, createLogger({ level: 'warn', format: 'json' }), redisUrl, root);
    // BENCH_CPU_PROF=<dir>: a CPU profile of each analysis process and its bot threads (`node --cpu-prof`).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // BENCH_ANALYST_NODE_OPTIONS: other heap settings than the compose file's, to see what they cost.
  const deployed = deployedAnalystEnv(root);
  if (process.env.BENCH_ANALYST_NODE_OPTIONS !== undefined) deployed.NODE_OPTIONS = process.env.BENCH_ANALYST_NODE_OPTIONS;
  const env = {
    ...process.env,
    ...deployed,
    REDIS_URL: redisUrl,
    QUORUM_REDIS_PREFIX: prefix,
    QUORUM_LOG_LEVEL: 'warn',
    QUORUM_LOG_FORMAT: 'json',
    QUORUM__REPLAY__FILES: JSON.stringify([FILE]),
    QUORUM__BOTS__INSTANCES: JSON.stringify(instances),
  };
  const children: ChildProcess[] = [];
  for (let i = 0; i < run.analysisProcesses; i++) {
    children.push(spawn(process.execPath, [...profile, 'bin/quorum.js', 'worker', '--queues', QUEUE.analysis], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] }));
  }
  const workers = await startWorkers(ctx, [QUEUE.ticks, QUEUE.coordinator, `execution-${ctx.account}`, QUEUE.notifications]);
  try {
    await until(async () => (await ctx.queues.analysis.getWorkersCount()) === run.analysisProcesses, 60_000, 'analysis workers starting', 100);
    const file = resolveReplayFiles([FILE], { cwd: root })[0]!;
    const { symbol, timeframe } = file;
    const candles = readCandleFile(file.path, timeframe).accepted.map((r) => r.candle);
    if (candles.length < HISTORY + WARM_UP + run.candles) throw new Error(`bench: ${FILE} has ${candles.length} candles; ${HISTORY + WARM_UP + run.candles} needed`);
    let prevTs: number | null = null;
    for (const candle of candles.slice(0, HISTORY)) {
      await ctx.candles.store(symbol, timeframe, candle, prevTs);
      prevTs = candle.ts;
    }
    const seenAt = new Map<number, number>();
    let fed = 0;
    const feed = async (candle: Candle) => {
      const now = Date.now();
      seenAt.set(candle.ts, now);
      await ctx.queues.addTick({ ...stamp('tick', 1, now), symbol, timeframe, candle, prevTs, seenAt: now });
      prevTs = candle.ts;
      fed++;
    };
    const decided = async () => Number((await ctx.stats.counters()).decisions ?? 0);

    for (const candle of candles.slice(HISTORY, HISTORY + WARM_UP)) await feed(candle);
    await until(async () => (await decided()) >= fed, 120_000, 'warm-up decisions', 20);
    if (!(await waitForDrain(ctx, { timeoutMs: 60_000 }))) throw new Error('bench: the warm-up did not drain within 60 s');

    const measured = candles.slice(HISTORY + WARM_UP, HISTORY + WARM_UP + run.candles);
    const started = Date.now();
    if (run.intervalMs === null) {
      for (const candle of measured) await feed(candle);
    } else {
      for (const [i, candle] of measured.entries()) {
        // On a fixed schedule, not after each other's decision: arrivals do not wait for the system.
        await sleep(Math.max(0, started + i * run.intervalMs - Date.now()));
        await feed(candle);
      }
    }
    await until(async () => (await decided()) >= WARM_UP + run.candles, 30 * 60_000, 'measured decisions');
    const wallMs = Date.now() - started;
    const rss = children.map((c) => Math.round(rssMbOf(c.pid!) * 10) / 10);
    if (!(await waitForDrain(ctx, { timeoutMs: 120_000 }))) throw new Error('bench: the run did not drain within 120 s');

    const measuredTs = new Set(measured.map((c) => c.ts));
    const latencies: number[] = [];
    const outcomes: Record<string, number> = {};
    for (const candle of measured) {
      const d = (await ctx.decisions.get(symbol, timeframe, candle.ts)) as { latencyMs?: number; action?: string; risk?: { reason?: string } } | undefined;
      if (typeof d?.latencyMs === 'number') latencies.push(d.latencyMs);
      const outcome = `${d?.action}: ${(d?.risk?.reason ?? '').replace(/[0-9.]+/g, '#').slice(0, 60)}`;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const tfMs = timeframeMs(timeframe);
    const orderLatencies: number[] = [];
    const fillLatencies: number[] = [];
    for (const order of await ctx.ledger.orders()) {
      const decidedTs = order.intent.decisionTs;
      if (!measuredTs.has(decidedTs)) continue;
      orderLatencies.push(order.createdAt - seenAt.get(decidedTs)!);
      const fillingCandleSeen = seenAt.get(decidedTs + tfMs);
      if (order.status === 'filled' && order.intent.type === 'market' && fillingCandleSeen !== undefined) fillLatencies.push(order.updatedAt - fillingCandleSeen);
    }
    const counters = await ctx.stats.counters();
    const jobs = run.candles * instances.length;
    return {
      analysisProcesses: run.analysisProcesses,
      instances: instances.length,
      candles: run.candles,
      intervalMs: run.intervalMs,
      wallMs,
      decisionsPerS: round(run.candles / (wallMs / 1000)),
      analysisJobsPerS: Math.round(jobs / (wallMs / 1000)),
      decisionLatencyMs: summarizeMs(latencies),
      orderLatencyMs: summarizeMs(orderLatencies),
      fillLatencyMs: summarizeMs(fillLatencies),
      analysisWorkerRssMb: rss,
      decisions: { buy: counters['decisions.buy'] ?? 0, sell: counters['decisions.sell'] ?? 0, hold: counters['decisions.hold'] ?? 0, orders: counters.orders ?? 0, fills: counters.fills ?? 0 },
      outcomes,
      denials: Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith('denials.'))),
      // Jobs that gave their slot back to wait for something (a previous decision, a partner market).
      waits: Object.fromEntries(Object.entries(counters).filter(([k]) => k.includes('wait'))),
    };
  } finally {
    await stopChildren(children);
    await workers.close();
    await dropKeys(redisUrl, prefix);
    await ctx.close();
  }
}

/**
 * Raw BullMQ: `jobs` no-op jobs added in bulk to a queue served by `processes` worker processes with
 * the analysis worker's concurrency and an empty processor. Jobs per second, add to last completion.
 */
export async function runRawBullmq(root: string, redisUrl: string, options: { jobs: number; processes: number; concurrency: number }): Promise<{ jobs: number; processes: number; concurrency: number; wallMs: number; jobsPerS: number }> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const name = 'raw-noop';
  const { config } = loadConfig({ file: undefined, env: {}, cwd: root, overrides: { 'redis.url': redisUrl, 'redis.prefix': prefix } });
  const connection = createRedis(redisUrl, { usage: 'worker' });
  const queue = new Queue(name, { connection, prefix, defaultJobOptions: defaultJobOptions(config) });
  const env = { ...process.env, REDIS_URL: redisUrl, BENCH_PREFIX: prefix, BENCH_QUEUE: name, BENCH_CONCURRENCY: String(options.concurrency) };
  const children = Array.from({ length: options.processes }, () => spawn(process.execPath, ['bench/rawWorker.mjs'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] }));
  try {
    await until(async () => (await queue.getWorkersCount()) === options.processes, 30_000, 'raw workers starting', 50);
    // A payload of the analysis jobs' size, so that Redis moves as many bytes.
    const data = { schema: 'analysis', v: 1, id: 'x'.repeat(36), at: Date.now(), symbol: 'XMR/BTC', timeframe: '5m', candleTs: 0, instanceId: 'ema-3-11', botId: 'ema-crossover', params: { fast: 3, slow: 11 }, warmup: 33, windowSize: 33, others: [] };
    const started = Date.now();
    for (let i = 0; i < options.jobs; i += 200) {
      await queue.addBulk(Array.from({ length: Math.min(200, options.jobs - i) }, (_, k) => ({ name: 'noop', data: { ...data, candleTs: i + k } })));
    }
    await until(async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
      return Object.values(c).every((n) => n === 0);
    }, 10 * 60_000, 'raw jobs finishing');
    const wallMs = Date.now() - started;
    return { ...options, wallMs, jobsPerS: Math.round(options.jobs / (wallMs / 1000)) };
  } finally {
    await stopChildren(children);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await dropKeys(redisUrl, prefix);
    await connection.quit();
  }
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => (c.kill('SIGKILL'), resolve()), 10_000).unref();
        }),
    ),
  );
}

async function dropKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl);
  await deleteDeploymentKeys(redis, prefix);
  await redis.quit();
}

export function round(x: number): number {
  return Math.round(x * 10) / 10;
}
