import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Worker, type Job, type Processor } from 'bullmq';
import { instancesForMarket } from '../registry/instances.ts';
import { BotRunner } from '../registry/runner.ts';
import { decideSettingsOf, policyFor } from './policies.ts';
import { holdingShare } from '../coordinator/decide.ts';
import type { Decision } from '../coordinator/decision.ts';
import { decisionProgress } from '../../processors/common.ts';
import { ModelStore } from '../store/modelStore.ts';
import { TimingStore } from '../store/timingStore.ts';
import { withLock } from '../store/lock.ts';
import { QUEUE, allQueueNames, executionQueueName, normaliseQueueName } from '../../queues/names.ts';
import { ticksProcessor } from '../../processors/ticks.ts';
import { analysisProcessor } from '../../processors/analysis.ts';
import { RecentWindows } from '../store/recentWindows.ts';
import { BatchedHashWrites } from '../store/batchedHashWrites.ts';
import { coordinatorProcessor } from '../../processors/coordinator.ts';
import { executionProcessor } from '../../processors/execution.ts';
import { notificationsProcessor } from '../../processors/notifications.ts';
import { optimizeProcessor } from '../../processors/optimize.ts';
import { resolveReplayFiles } from '../feed/replayFiles.ts';
import { runBacktest } from './backtest.ts';
import type { Context } from './context.ts';
import { StartupError } from './startupError.ts';
import { createVenue, type VenueStartOptions } from './venue.ts';
import { buildNotifiers, notifyMonitor, scheduleNotifications } from './notify.ts';
import { NotifyStore } from '../store/notifyStore.ts';
import { RECONCILE_JOB, type ExecutionDeps } from '../../processors/execution.ts';

export { StartupError } from './startupError.ts';
export { loadBots, type BotSetup } from './loadBots.ts';
import { loadBots, type BotSetup } from './loadBots.ts';

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
export async function startWorkers(ctx: Context, names: string[], options: VenueStartOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<RunningWorkers> {
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

  // Notification channels, their secrets from the environment: checked before any worker starts.
  const serveNotifications = wanted.includes(QUEUE.notifications);
  const notifiers = serveNotifications ? buildNotifiers(ctx.config.notify, options.env ?? process.env) : [];

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
        instancesFor: async (symbol) => {
          const out = await inService.get();
          return instancesForMarket(enabled, symbol).filter((i) => !out.has(i.id));
        },
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
        risk: ctx.risk,
        performance: ctx.performance,
        gateway,
        policyFor: (symbol) => policyFor(ctx.config, symbol),
        trackRecord: ctx.config.coordinator.trackRecord,
        settingsFor: (timeframe) => decideSettingsOf(ctx.config, timeframe, ctx.account, ctx.markets),
        riskWindows: ctx.config.risk,
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
      processor: notificationsProcessor({
        stats: ctx.stats,
        log: ctx.log,
        queues: ctx.queues,
        store: new NotifyStore(ctx.redis, ctx.keys),
        channels: notifiers,
        settings: ctx.config.notify,
        monitor: notifyMonitor(ctx),
        now,
      }),
    },
    [QUEUE.optimize]: {
      concurrency: ctx.config.workers.optimize,
      processor: optimizeProcessor({
        backtest: async (config, files, span) => {
          const { report } = await runBacktest({ config, files: resolveReplayFiles(files, { cwd: ctx.cwd }), from: span.from, to: span.to, cwd: ctx.cwd });
          return { metrics: report.metrics, trades: report.trades.length };
        },
        stats: ctx.stats,
        log: ctx.log,
      }),
    },
  };
  if (runner) {
    processors[QUEUE.analysis] = {
      concurrency: ctx.config.workers.analysis,
      processor: analysisProcessor({
        candles: new RecentWindows(ctx.candles),
        stats: ctx.stats,
        health: ctx.health,
        runner,
        botVersions: Object.fromEntries(bots!.report.loaded.map((b) => [b.id, b.version])),
        models: new ModelStore(ctx.redis, ctx.keys),
        quarantineAfter: ctx.config.bots.quarantineAfter,
        queues: ctx.queues,
        lock: (name, ttlMs, fn) => withLock(ctx.redis, ctx.keys.lock(name), fn, { ttlMs, waitMs: ttlMs }),
        trainTimeoutMs: ctx.config.bots.trainTimeoutMs,
        inventoryAfter: async (symbol, timeframe, prevTs) => {
          if (prevTs === null) return undefined;
          const progress = await decisionProgress(ctx.queues, ctx.decisions, { symbol, timeframe, ts: prevTs });
          if (progress === 'pending') return 'pending';
          const decision = (await ctx.decisions.get(symbol, timeframe, prevTs)) as Partial<Decision> | undefined;
          return typeof decision?.inventory === 'number' ? decision.inventory : undefined;
        },
        wakeMeAfter: (symbol, timeframe, ts, jobId) => ctx.decisions.markWaiting(symbol, timeframe, ts, { queue: QUEUE.analysis, jobId }),
        inventoryNow: (symbol, close) => inventoryOf(ctx, symbol, close),
        log: ctx.log,
        now,
      }),
    };
  }

  // Before taking any job: bring the ledger in line with the venue (a crash may have left an
  // order sent but not recorded). If the venue cannot be reached now, the job does it later.
  const serveExecution = wanted.includes(executionQueueName(ctx.account));
  if (venue?.reconcile && serveExecution) await reconcileAtStart(ctx, venue.reconcile);

  // Job outcome counters, batched so that counting costs no round trip per job.
  const counts = new BatchedHashWrites(ctx.redis, (error) => ctx.log.error({ err: error.message }, 'could not save job counters'));
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
      // BullMQ's default (1) fails a job the second time its worker dies under it: a decision
      // would be lost to two crashes. Re-running is safe (decisions and orders are recorded once).
      maxStalledCount: ctx.config.queues.maxStalledCount,
    });
    worker.on('completed', (job: Job) => {
      counts.increment(ctx.keys.counters, `jobs.${name}.completed`, 1);
      timeJob(name, job);
    });
    worker.on('failed', (job: Job | undefined, error: Error) => {
      timeJob(name, job);
      const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
      counts.increment(ctx.keys.counters, final ? `jobs.${name}.failed` : `jobs.${name}.retried`, 1);
      ctx.log[final ? 'warn' : 'debug']({ queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: error.message }, final ? 'job failed' : 'job will be retried');
    });
    worker.on('error', (error) => ctx.log.error({ queue: name, err: error.message }, 'worker error'));
    return worker;
  });
  if (venue?.reconcile && serveExecution) await scheduleReconciliation(ctx);
  if (serveNotifications) await scheduleNotifications(ctx);
  ctx.log.info({ queues: wanted, instances: enabled.length, venue: venue ? `${ctx.config.exchange.mode}:${ctx.account}` : 'none' }, 'workers started');

  return {
    queues: wanted,
    workers,
    bots,
    async close() {
      // Stop taking jobs and let active ones finish, then release the bot threads.
      await Promise.all(workers.map((w) => w.close()));
      await counts.flush().catch((error: Error) => ctx.log.error({ err: error.message }, 'could not save job counters'));
      await timings.flush().catch((error: Error) => ctx.log.error({ err: error.message }, 'could not save job timings'));
      await runner?.close();
      await venue?.close();
      await Promise.all(notifiers.map((n) => n.close()));
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
  const marks: Record<string, number | undefined> = {};
  for (const s of Object.keys(state.positions)) {
    if (s !== symbol) marks[s] = (await ctx.candles.latest(s, ctx.series.find((f) => f.symbol === s)?.timeframe ?? '5m'))?.close;
  }
  return holdingShare(state, symbol, close, marks);
}
