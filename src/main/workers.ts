import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Worker, type Job, type Processor } from 'bullmq';
import { discoverBots, type DiscoveryReport } from '../registry/discover.ts';
import { resolveInstances, instancesForMarket, type BotInstance } from '../registry/instances.ts';
import { BotRunner } from '../registry/runner.ts';
import { policyFor, riskLimitsOf } from './policies.ts';
import { ModelStore } from '../store/modelStore.ts';
import { TimingStore } from '../store/timingStore.ts';
import { quoteOf } from '../core/market.ts';
import { withLock } from '../store/lock.ts';
import { QUEUE, allQueueNames, executionQueueName, normaliseQueueName } from '../../queues/names.ts';
import { ticksProcessor } from '../../processors/ticks.ts';
import { analysisProcessor } from '../../processors/analysis.ts';
import { coordinatorProcessor } from '../../processors/coordinator.ts';
import { executionProcessor } from '../../processors/execution.ts';
import { notificationsProcessor } from '../../processors/notifications.ts';
import type { Context } from './context.ts';
import { StartupError } from './startupError.ts';
import { createVenue, type VenueStartOptions } from './venue.ts';
import { RECONCILE_JOB, type ExecutionDeps } from '../../processors/execution.ts';

export { StartupError } from './startupError.ts';

export interface BotSetup {
  report: DiscoveryReport;
  instances: BotInstance[];
  problems: string[];
}

/** Discovers bots/ and checks every configured instance against them and the replayed markets. */
export async function loadBots(ctx: Pick<Context, 'config' | 'cwd' | 'series' | 'markets'>): Promise<BotSetup> {
  const report = await discoverBots(resolve(ctx.cwd, ctx.config.bots.dir));
  const markets = [...new Set(ctx.series.map((f) => f.symbol))];
  const { instances, problems } = resolveInstances(ctx.config.bots.instances, report, markets, {
    windowSize: ctx.config.bots.windowSize,
    trainingWindow: ctx.config.bots.trainingWindow,
    // Real venues' markets are known once a venue is created (ccxt loads them); until then unchecked.
    venueMarkets: Object.keys(ctx.markets).length > 0 ? new Set(Object.keys(ctx.markets)) : undefined,
  });
  return { report, instances, problems };
}


export interface RunningWorkers {
  queues: string[];
  workers: Worker[];
  bots: BotSetup | undefined;
  close(): Promise<void>;
}

/**
 * Starts a worker for each named queue in this process. Any number of such processes, on any
 * number of hosts, share the work through Redis.
 */
export async function startWorkers(ctx: Context, names: string[], options: VenueStartOptions = {}): Promise<RunningWorkers> {
  const wanted = [...new Set(names.map(normaliseQueueName))];
  const known = allQueueNames(ctx.account);
  const unknown = wanted.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new StartupError(`unknown queue ${unknown.join(', ')}; this account serves: ${known.join(', ')}`);

  // The venue: paper, or ccxt with its market rules, shared budget, breaker and reconciliation.
  const needsVenue = wanted.some((n) => n === QUEUE.ticks || n === QUEUE.coordinator || n === executionQueueName(ctx.account));
  const venue = needsVenue ? await createVenue(ctx, { ...options, trading: wanted.includes(executionQueueName(ctx.account)) }) : undefined;
  // ccxt's rules replace the (empty) ones of a real-venue context, for everything in this process.
  if (venue && venue.markets !== ctx.markets) Object.assign(ctx.markets, venue.markets);

  const needsBots = wanted.includes(QUEUE.ticks) || wanted.includes(QUEUE.analysis);
  const bots = needsBots ? await loadBots(ctx) : undefined;
  if (bots && bots.problems.length > 0) throw new StartupError('bot instances are misconfigured', bots.problems);
  if (bots && bots.report.failed.length > 0) {
    for (const f of bots.report.failed) ctx.log.error({ file: f.file, error: f.error }, 'bot file failed to load; its instances cannot run');
  }

  const now = () => Date.now();
  const gateway = venue?.gateway;
  await ctx.queues.applyExecutionRateLimit(ctx.config.exchange.ordersPerSecond);
  const runner = wanted.includes(QUEUE.analysis)
    ? new BotRunner({
        botsDir: resolve(ctx.cwd, ctx.config.bots.dir),
        threads: ctx.config.workers.botThreads,
        timeoutMs: ctx.config.bots.timeoutMs,
        memoryMb: ctx.config.bots.memoryMb,
        trainTimeoutMs: ctx.config.bots.trainTimeoutMs,
        report: bots!.report,
      })
    : undefined;
  await runner?.start();

  const enabled = bots?.instances.filter((i) => i.enabled) ?? [];
  // Quarantined and runtime-disabled instances, read at most once a second.
  const inService = cached(1000, async () => {
    const { quarantined, disabled } = await ctx.health.suspended();
    return new Set([...Object.keys(quarantined), ...Object.keys(disabled)]);
  });
  const processors: Record<string, { processor: Processor; concurrency: number }> = {
    [QUEUE.ticks]: {
      concurrency: ctx.config.workers.ticks,
      processor: ticksProcessor({
        candles: ctx.candles,
        decisions: ctx.decisions,
        stats: ctx.stats,
        queues: ctx.queues,
        gateway: gateway!,
        instancesFor: async (symbol) => {
          const out = await inService.get();
          return instancesForMarket(enabled, symbol).filter((i) => !out.has(i.id));
        },
        inventoryOf: (symbol, close) => inventoryOf(ctx, symbol, close),
        windowSize: ctx.config.bots.windowSize,
        log: ctx.log,
        now,
      }),
    },
    [QUEUE.coordinator]: {
      concurrency: ctx.config.workers.coordinator,
      processor: coordinatorProcessor({
        decisions: ctx.decisions,
        ledger: ctx.ledger,
        candles: ctx.candles,
        stats: ctx.stats,
        queues: ctx.queues,
        markets: ctx.markets,
        risk: ctx.risk,
        policyFor: (symbol) => policyFor(ctx.config, symbol),
        trackRecord: ctx.config.coordinator.trackRecord,
        limitsFor: (timeframe) => riskLimitsOf(ctx.config, timeframe),
        riskWindows: ctx.config.risk,
        exits: ctx.config.risk.exits,
        limitOrderCandles: ctx.config.coordinator.limitOrderCandles,
        execution: { slippageBps: ctx.config.paper.slippageBps, feeRate: ctx.config.paper.feeRate },
        account: ctx.account,
        lock: (name, fn) => withLock(ctx.redis, ctx.keys.lock(name), fn),
        log: ctx.log,
        now,
      }),
    },
    [executionQueueName(ctx.account)]: {
      concurrency: ctx.config.workers.execution,
      processor: executionProcessor({
        gateway: gateway!,
        stats: ctx.stats,
        queues: ctx.queues,
        log: ctx.log,
        now,
        maxStartedAttempts: ctx.config.execution.maxStartedAttempts,
        backOffUntil: venue?.backOffUntil,
        reconcile: venue?.reconcile,
        audit: async (type, data) => void (await venue!.audit.append(type, data)),
        algo: algoOf(ctx),
      }),
    },
    [QUEUE.notifications]: {
      concurrency: ctx.config.workers.notifications,
      processor: notificationsProcessor({ stats: ctx.stats, log: ctx.log }),
    },
  };
  if (runner) {
    processors[QUEUE.analysis] = {
      concurrency: ctx.config.workers.analysis,
      processor: analysisProcessor({
        candles: ctx.candles,
        stats: ctx.stats,
        health: ctx.health,
        runner,
        botVersions: Object.fromEntries(bots!.report.loaded.map((b) => [b.id, b.version])),
        models: new ModelStore(ctx.redis, ctx.keys),
        quarantineAfter: ctx.config.bots.quarantineAfter,
        queues: ctx.queues,
        lock: (name, ttlMs, fn) => withLock(ctx.redis, ctx.keys.lock(name), fn, { ttlMs, waitMs: ttlMs }),
        trainTimeoutMs: ctx.config.bots.trainTimeoutMs,
        log: ctx.log,
        now,
      }),
    };
  }

  // Before taking any job: bring the ledger in line with the venue (a crash may have left an
  // order sent but not recorded). If the venue cannot be reached now, the job does it later.
  const serveExecution = wanted.includes(executionQueueName(ctx.account));
  if (venue?.reconcile && serveExecution) await reconcileAtStart(ctx, venue.reconcile);

  const counts = new JobCounter(ctx);
  const timings = new TimingStore(ctx.redis, ctx.keys, (error) => ctx.log.error({ err: error.message }, 'could not save job timings'));
  // How long each finished job ran (and, for analysis jobs, which bot): read by /metrics.
  const timeJob = (name: string, job: Job | undefined) => {
    if (!job?.processedOn) return;
    const instanceId = name === QUEUE.analysis && typeof job.data?.instanceId === 'string' ? job.data.instanceId : undefined;
    timings.observe(name, (job.finishedOn ?? Date.now()) - job.processedOn, instanceId);
  };
  const workers = wanted.map((name) => {
    const { processor, concurrency } = processors[name]!;
    const worker = new Worker(name, processor, {
      connection: ctx.redis,
      prefix: ctx.queues.prefix,
      concurrency,
      // Stored on each job it processes (Bull Board shows it): which host and process did the work.
      name: `${hostname()}:${process.pid}`,
      // Trimming is set on each job; these apply to jobs added by other producers too.
      removeOnComplete: ctx.config.queues.keepCompleted,
      removeOnFail: ctx.config.queues.keepFailed,
      lockDuration: ctx.config.queues.lockDurationMs,
      stalledInterval: ctx.config.queues.stalledIntervalMs,
    });
    worker.on('completed', (job: Job) => {
      counts.add(`jobs.${name}.completed`);
      timeJob(name, job);
    });
    worker.on('failed', (job: Job | undefined, error: Error) => {
      timeJob(name, job);
      const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
      counts.add(final ? `jobs.${name}.failed` : `jobs.${name}.retried`);
      ctx.log[final ? 'warn' : 'debug']({ queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: error.message }, final ? 'job failed' : 'job will be retried');
    });
    worker.on('error', (error) => ctx.log.error({ queue: name, err: error.message }, 'worker error'));
    return worker;
  });
  if (venue?.reconcile && serveExecution) await scheduleReconciliation(ctx);
  ctx.log.info({ queues: wanted, instances: enabled.length, venue: venue ? `${ctx.config.exchange.mode}:${ctx.account}` : 'none' }, 'workers started');

  return {
    queues: wanted,
    workers,
    bots,
    async close() {
      // Stop taking jobs and let active ones finish, then release the bot threads.
      await Promise.all(workers.map((w) => w.close()));
      await counts.flush();
      await timings.flush().catch((error: Error) => ctx.log.error({ err: error.message }, 'could not save job timings'));
      await runner?.close();
      await venue?.close();
    },
  };
}

/** TWAP or iceberg settings, when an algorithm is configured. */
function algoOf(ctx: Context): ExecutionDeps['algo'] {
  const { kind, pollMs, ...rest } = ctx.config.execution.algo;
  if (kind === 'none') return undefined;
  return { settings: { kind, ...rest }, rulesOf: (symbol) => ctx.markets[symbol], realTime: ctx.config.exchange.mode !== 'paper', pollMs };
}

const RECONCILE_RETENTION = { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } };

async function reconcileAtStart(ctx: Context, reconcile: (now: number) => Promise<unknown>): Promise<void> {
  try {
    const report = await reconcile(Date.now());
    ctx.log.info({ report }, 'reconciled with the venue at start-up');
  } catch (error) {
    ctx.log.warn({ err: (error as Error).message }, 'start-up reconciliation failed; a reconcile job will retry it');
    await ctx.queues.execution.add(RECONCILE_JOB, { account: ctx.account }, { ...RECONCILE_RETENTION, jobId: `${RECONCILE_JOB}-start-${Date.now()}-${process.pid}`, priority: 1 });
  }
}

/** Reconciliation on a schedule shared by every worker (one BullMQ job scheduler, whoever is free runs it). */
async function scheduleReconciliation(ctx: Context): Promise<void> {
  const every = ctx.config.execution.reconcileEverySeconds * 1000;
  await ctx.queues.execution.upsertJobScheduler(RECONCILE_JOB, { every }, { name: RECONCILE_JOB, data: { account: ctx.account }, opts: RECONCILE_RETENTION });
}

/** A value recomputed at most every `ms` milliseconds (concurrent callers share one computation). */
function cached<T>(ms: number, compute: () => Promise<T>): { get(): Promise<T> } {
  let value: Promise<T> | undefined;
  let at = 0;
  return {
    get() {
      if (!value || Date.now() - at > ms) {
        at = Date.now();
        value = compute().catch((error: unknown) => {
          value = undefined;
          throw error;
        });
      }
      return value;
    },
  };
}

/** The value of the account's holding of `symbol` as a fraction of equity in its quote currency. */
async function inventoryOf(ctx: Context, symbol: string, close: number): Promise<number> {
  const { state } = await ctx.ledger.snapshot();
  const amount = Number(state.positions[symbol]?.amount ?? 0);
  if (!(amount > 0)) return 0;
  const quote = quoteOf(symbol);
  let equity = Number(state.cash[quote] ?? 0);
  for (const [s, p] of Object.entries(state.positions)) {
    if (quoteOf(s) !== quote) continue;
    const mark = s === symbol ? close : ((await ctx.candles.latest(s, ctx.series.find((f) => f.symbol === s)?.timeframe ?? '5m'))?.close ?? Number(p.avgPrice));
    equity += Number(p.amount) * mark;
  }
  const share = equity > 0 ? (amount * close) / equity : 0;
  return Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
}

/** Job outcome counters in Redis, batched so that counting costs no round trip per job. */
class JobCounter {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly ctx: Context) {}

  add(field: string): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + 1);
    this.timer ??= setTimeout(() => void this.flush(), 200);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const multi = this.ctx.redis.multi();
    for (const [field, n] of batch) multi.hincrby(this.ctx.keys.counters, field, n);
    await multi.exec().catch((error: Error) => this.ctx.log.error({ err: error.message }, 'could not save job counters'));
  }
}
