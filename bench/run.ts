/**
 * `npm run bench`: measures what the issues promise and writes bench/results.json, each figure
 * beside a baseline measured in the same run (machines are shared and noisy: only ratios and
 * same-run comparisons mean anything). Run it on an otherwise idle machine for stable numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
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
import { runPipeline, runRawBullmq } from './pipeline.ts';
import { formatTable, meets, writeResults, type TableRow } from './report.ts';

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

/**
 * The backtest part in a process of its own, as `quorum backtest` runs: not in this one, whose heap
 * holds the pipeline runs' leftovers and whose Redis clients are still winding down (it measured
 * a tenth slower here than alone).
 */
async function backtestInOwnProcess(): Promise<Awaited<ReturnType<typeof backtestThroughput>>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--only', 'backtest', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`bench: the backtest part exited with ${code}`);
  return JSON.parse(out) as Awaited<ReturnType<typeof backtestThroughput>>;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

const quick = process.argv.includes('--quick');
/** Sizes of the runs: --quick is a smoke test of the bench itself (figures too short to trust). */
const SIZE = quick
  ? { rawJobs: 2000, capacityCandles: 6, latencyCandles: 10 }
  : { rawJobs: 12_000, capacityCandles: 30, latencyCandles: 60 };
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** `--only backtest`: the backtest part alone (no Redis, no worker processes); prints its figures, writes nothing. */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (only !== undefined) {
  if (only !== 'backtest') {
    process.stderr.write(`bench: --only takes "backtest" (the part that needs no Redis), not ${JSON.stringify(only)}\n`);
    process.exit(2);
  }
  log('backtest beside a plain loop (only)');
  const backtest = await backtestThroughput(ROOT);
  // --json: the figures alone, for the full bench, which runs this part in a process of its own.
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(backtest)}\n`);
    process.exit(0);
  }
  process.stdout.write(`${JSON.stringify(backtest, null, 2)}\noverhead ${backtest.overhead}x with ${backtest.instances} instances, ${backtest.twentyInstances.overhead}x with 20 (target <= ${backtest.targetOverhead}x); load average ${loadavg().map((x) => Math.round(x * 100) / 100).join(' ')}\n`);
  process.exit(0);
}

const endpoint = await resolveRedis({ url: process.env.REDIS_URL, startPrivate: true });
try {
  const startedAt = new Date().toISOString();
  const concurrency = loadConfig({ file: undefined, env: {}, cwd: ROOT }).config.workers.analysis;

  log(`raw BullMQ: ${SIZE.rawJobs} no-op jobs, one worker process, concurrency ${concurrency}`);
  const raw1 = await runRawBullmq(ROOT, endpoint.url, { jobs: SIZE.rawJobs, processes: 1, concurrency });
  log(`raw BullMQ: the same with two worker processes`);
  const raw2 = await runRawBullmq(ROOT, endpoint.url, { jobs: SIZE.rawJobs, processes: 2, concurrency });
  log(`pipeline capacity: ${SIZE.capacityCandles} candles at once, 200 instances, one analysis process`);
  const capacity1 = await runPipeline(ROOT, endpoint.url, { analysisProcesses: 1, candles: SIZE.capacityCandles, intervalMs: null });
  log(`pipeline capacity: the same with two analysis processes`);
  const capacity2 = await runPipeline(ROOT, endpoint.url, { analysisProcesses: 2, candles: SIZE.capacityCandles, intervalMs: null });
  // About half busy: candles arrive at half the decisions per second one analysis process sustains.
  const intervalMs = Math.round(2000 / capacity1.decisionsPerS);
  log(`latency: ${SIZE.latencyCandles} candles, one every ${intervalMs} ms (half of ${capacity1.decisionsPerS} decisions/s)`);
  const latency = await runPipeline(ROOT, endpoint.url, { analysisProcesses: 1, candles: SIZE.latencyCandles, intervalMs });
  let memory: Awaited<ReturnType<typeof analysisWorkerMemory>> | undefined;
  if (!quick) {
    log('memory: an analysis worker with the default instances, each run on real candles');
    memory = await analysisWorkerMemory(endpoint.url);
  }
  log('backtest beside a plain loop (in a process of its own)');
  const backtest = await backtestInOwnProcess();

  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const latencyRssMb = Math.max(...latency.analysisWorkerRssMb);
  const results = {
    startedAt,
    mode: quick ? 'quick' : 'full',
    node: process.version,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    // The headline figures, flat, for scripts and the README table.
    pipeline_vs_raw_ratio: ratio(capacity1.analysisJobsPerS, raw1.jobsPerS),
    decision_latency_p50_ms: latency.decisionLatencyMs.p50,
    decision_latency_p99_ms: latency.decisionLatencyMs.p99,
    fill_latency_p99_ms: latency.fillLatencyMs.p99,
    // The default instances' worker (every bundled bot loaded and run); --quick: the 200-instance one.
    analysis_worker_rss_mb: memory ? memory.analysisWorkerPeakRssMb : latencyRssMb,
    backtest_evals_per_s: backtest.backtestEvalsPerS,
    plain_loop_evals_per_s: backtest.plainLoopEvalsPerS,
    backtest_overhead: backtest.overhead,
    backtest_overhead_20_instances: backtest.twentyInstances.overhead,
    two_worker_scaling_ratio: ratio(capacity2.analysisJobsPerS, capacity1.analysisJobsPerS),
    raw_two_process_scaling_ratio: ratio(raw2.jobsPerS, raw1.jobsPerS),
    raw: { oneProcess: raw1, twoProcesses: raw2 },
    capacity: { oneProcess: capacity1, twoProcesses: capacity2 },
    latency,
    analysisWorkerMemory: memory ?? null,
    backtest,
  };
  writeResults(RESULTS, results);
  const ms = (x: number | null) => (x === null ? 'n/a' : `${x} ms`);
  const rows: TableRow[] = [
    {
      figure: 'pipeline analysis jobs/s (1 market, 200 instances, 1 analysis process)',
      value: `${capacity1.analysisJobsPerS}/s = ${results.pipeline_vs_raw_ratio}x raw`,
      baseline: `raw BullMQ no-op jobs ${raw1.jobsPerS}/s (1 process, concurrency ${concurrency})`,
      target: '>= 0.6x raw',
      met: meets(results.pipeline_vs_raw_ratio, '>=', 0.6),
    },
    {
      figure: `candle-to-decision latency p50 / p99 (a candle every ${intervalMs} ms, ~50% of capacity)`,
      value: `${ms(results.decision_latency_p50_ms)} / ${ms(results.decision_latency_p99_ms)}`,
      baseline: `capacity ${capacity1.decisionsPerS} decisions/s (${Math.round(1000 / capacity1.decisionsPerS)} ms each)`,
      target: 'p99 < 50 ms',
      met: meets(results.decision_latency_p99_ms, '<', 50),
    },
    {
      figure: `candle-to-fill latency p50 / p99 (${latency.fillLatencyMs.n} paper fills; filling candle seen -> fill)`,
      value: `${ms(latency.fillLatencyMs.p50)} / ${ms(latency.fillLatencyMs.p99)}`,
      baseline: `decision candle seen -> order at venue p50 / p99 ${ms(latency.orderLatencyMs.p50)} / ${ms(latency.orderLatencyMs.p99)}`,
      target: '-',
      met: null,
    },
    memory
      ? {
          figure: `analysis worker RSS, ${memory.instances} default instances loaded and run (peak)`,
          value: `${memory.analysisWorkerPeakRssMb} MB`,
          baseline: `worker without bots ${memory.baselineWorkerRssMb} MB; 200-instance bench worker ${latencyRssMb} MB`,
          target: '< 150 MB',
          met: meets(memory.analysisWorkerPeakRssMb, '<', 150),
        }
      : {
          figure: 'analysis worker RSS, 200 instances loaded and run (--quick: at the end of the latency run)',
          value: `${latencyRssMb} MB`,
          baseline: '-',
          target: '< 150 MB',
          met: meets(latencyRssMb, '<', 150),
        },
    {
      figure: `backtest bot-candle evaluations/s (${backtest.instances} EMA crossover instances, whole decision sequence)`,
      value: `${backtest.backtestEvalsPerS}/s`,
      baseline: `plain typed-array EMA loop ${backtest.plainLoopEvalsPerS}/s (overhead ${backtest.overhead}x; with 20 instances ${backtest.twentyInstances.overhead}x)`,
      target: `overhead <= ${backtest.targetOverhead}x`,
      met: backtest.meetsTarget,
    },
    {
      figure: 'pipeline throughput, 2 analysis processes / 1',
      value: `${results.two_worker_scaling_ratio}x (${capacity2.analysisJobsPerS}/s)`,
      baseline: `raw BullMQ 2 processes / 1: ${results.raw_two_process_scaling_ratio}x`,
      target: '>= 1.6x',
      met: meets(results.two_worker_scaling_ratio, '>=', 1.6),
    },
  ];
  process.stdout.write(
    `\n${formatTable(rows)}\n\n` +
      `machine: ${results.machine.cpus} cores (${results.machine.model}), shared; load average at the end ${results.machine.loadAverageAtEnd.join(' ')}. ` +
      `Everything (Redis, this process with ticks, coordinator and execution, the analysis and raw worker processes) runs on these ${results.machine.cpus} cores.\n` +
      (quick ? '--quick: runs too short to trust the figures; a smoke test of the bench.\n' : '') +
      `written to ${fileURLToPath(RESULTS)}\n`,
  );
} finally {
  await endpoint.stop();
}
process.exit(0);
