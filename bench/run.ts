/**
 * `npm run bench`: measures what the issues promise and writes bench/results.json, each figure
 * beside a baseline measured in the same run (machines are shared and noisy: only ratios and
 * same-run comparisons mean anything). Run it on an otherwise idle machine for stable numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createRedis, deleteDeploymentKeys, resolveRedis } from '../src/infra/redis.ts';
import { createContext } from '../src/main/context.ts';
import { runReplay, waitForDrain } from '../src/main/pipeline.ts';
import { startWorkers } from '../src/main/workers.ts';
import { QUEUE } from '../queues/names.ts';
import { backtestThroughput } from './backtest.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = new URL('./results.json', import.meta.url);

/** Resident and peak resident memory of a process, MB (Linux /proc). */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(/^(\w+):\s+(\d+) kB$/m.exec(status.split('\n').find((l) => l.startsWith(`${field}:`)) ?? '')?.[2] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** The analysis worker as deployed: the environment of the `analyst` service in docker-compose.yml. */
const ANALYST_ENV = (parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')) as { services: { analyst: { environment: Record<string, string> } } }).services.analyst.environment;
const DEPLOYED = { NODE_OPTIONS: ANALYST_ENV.NODE_OPTIONS ?? '', QUORUM__WORKERS__BOT_THREADS: ANALYST_ENV.QUORUM__WORKERS__BOT_THREADS ?? '1' };

function spawnWorker(queues: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['bin/quorum.js', 'worker', '--queues', queues], { cwd: ROOT, env: { ...process.env, ...DEPLOYED, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Resident memory of an analysis worker process with every default bot instance loaded, after it
 * has run every one of them on real candles; beside it, a worker process that loads no bots.
 */
async function analysisWorkerMemory(redisUrl: string) {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  // 260 candles: past the longest warm-up (201), so every instance really runs its bot.
  const overrides = {
    'redis.url': redisUrl,
    'redis.prefix': prefix,
    'log.level': 'warn',
    'log.format': 'json',
    'replay.lastCandles': 260,
    'queues.keepCompleted': { age: 3600, count: 200_000 },
  };
  const { config } = loadConfig({ file: undefined, env: {}, cwd: ROOT, overrides });
  const ctx = await createContext(config, createLogger({ level: 'warn', format: 'json' }), redisUrl, ROOT);
  const env = { REDIS_URL: redisUrl, QUORUM_REDIS_PREFIX: prefix, QUORUM_LOG_LEVEL: 'warn', QUORUM_LOG_FORMAT: 'json' };
  const analysis = spawnWorker(QUEUE.analysis, env);
  const baseline = spawnWorker(QUEUE.notifications, env);
  const workers = await startWorkers(ctx, [QUEUE.ticks, QUEUE.coordinator, `execution-${ctx.account}`]);
  try {
    while ((await ctx.queues.analysis.getWorkersCount()) === 0 || (await ctx.queues.notifications.getWorkersCount()) === 0) await new Promise((r) => setTimeout(r, 100));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(analysis.pid!).rssMb)), 100);
    await runReplay(ctx);
    await waitForDrain(ctx, { timeoutMs: 30 * 60_000 });
    clearInterval(sampler);
    const analysisJobs = Number((await ctx.stats.counters())[`jobs.${QUEUE.analysis}.completed`] ?? 0);
    const ran = (await ctx.queues.analysis.getCompleted(0, 200_000)).filter((j) => j.returnvalue?.warmingUp === false);
    const loaded = new Set(ran.map((j) => j.data.instanceId)).size;
    const after = memoryOf(analysis.pid!);
    const base = memoryOf(baseline.pid!);
    return {
      instances: config.bots.instances.length,
      instancesThatRan: loaded,
      analysisJobs,
      analysisWorkerRssMb: round(after.rssMb),
      analysisWorkerPeakRssMb: round(Math.max(peak, after.peakMb)),
      baselineWorkerRssMb: round(base.rssMb),
      nodeOptions: DEPLOYED.NODE_OPTIONS,
      botThreads: Number(DEPLOYED.QUORUM__WORKERS__BOT_THREADS),
      targetMb: 150,
      meetsTarget: Math.max(peak, after.peakMb) < 150,
    };
  } finally {
    analysis.kill('SIGTERM');
    baseline.kill('SIGTERM');
    await workers.close();
    const redis = createRedis(redisUrl);
    await deleteDeploymentKeys(redis, prefix);
    await redis.quit();
    await ctx.close();
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

const endpoint = await resolveRedis({ url: process.env.REDIS_URL, startPrivate: true });
try {
  const startedAt = new Date().toISOString();
  const memory = await analysisWorkerMemory(endpoint.url);
  const backtest = await backtestThroughput(ROOT);
  const results = {
    startedAt,
    node: process.version,
    // The headline figures, flat, for scripts and the README table.
    analysis_worker_rss_mb: memory.analysisWorkerPeakRssMb,
    backtest_evals_per_s: backtest.backtestEvalsPerS,
    plain_loop_evals_per_s: backtest.plainLoopEvalsPerS,
    analysisWorkerMemory: memory,
    backtest,
  };
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  const rows: Array<[string, string, string]> = [
    ['backtest bot-candle evaluations/s (20 EMA crossover instances, whole decision sequence)', `${backtest.backtestEvalsPerS}/s`, `plain typed-array EMA loop ${backtest.plainLoopEvalsPerS}/s: overhead ${backtest.overhead}x (target <= ${backtest.targetOverhead}x: ${backtest.meetsTarget ? 'met' : 'NOT met'})`],
    ['analysis worker RSS, all default instances run', `${memory.analysisWorkerPeakRssMb} MB peak (${memory.analysisWorkerRssMb} MB at the end)`, `worker without bots ${memory.baselineWorkerRssMb} MB; target < ${memory.targetMb} MB: ${memory.meetsTarget ? 'met' : 'NOT met'}`],
  ];
  process.stdout.write(`\n${rows.map((r) => r.join('  |  ')).join('\n')}\n\nwritten to ${fileURLToPath(RESULTS)}\n`);
} finally {
  await endpoint.stop();
}
process.exit(0);
