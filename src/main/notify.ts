import { QUEUE } from '../../queues/names.ts';
import type { Config } from '../config/schema.ts';
import { createNotifier, type Notifier } from '../notify/channels.ts';
import { resolveChannels } from '../notify/settings.ts';
import { BreakerStore } from '../store/breakerStore.ts';
import { DAILY_SUMMARY_JOB, DIGEST_JOB, MONITOR_JOB } from '../../queues/names.ts';
import type { NotifyMonitor } from '../../processors/notifications.ts';
import type { Context } from './context.ts';
import { riskReport } from './riskReport.ts';
import { StartupError } from './startupError.ts';

/** The enabled channels, their secrets read from `env`; a missing or malformed secret stops the start, naming the variable. */
export function buildNotifiers(notify: Config['notify'], env: NodeJS.ProcessEnv): Notifier[] {
  const { channels, problems } = resolveChannels(notify, env);
  if (problems.length > 0) throw new StartupError('notification channels are misconfigured', problems);
  return channels.map((spec) => createNotifier(spec, notify.delivery.timeoutMs));
}

/** Secret values of the enabled channels, for the logger's scrubber. */
export function notifySecrets(notify: Config['notify'], env: NodeJS.ProcessEnv): string[] {
  return resolveChannels(notify, env).channels.flatMap((c) => c.secrets);
}

/** What the scheduled checks read: the risk report's drawdowns, BullMQ's worker lists, the counters. */
export function notifyMonitor(ctx: Context): NotifyMonitor {
  return {
    account: ctx.account,
    maxDrawdown: ctx.config.risk.maxDrawdown,
    drawdowns: async () => (await riskReport(ctx)).quotes.map((q) => ({ quote: q.quote, drawdown: q.drawdown })),
    // Sweeps are occasional work: an optimize queue nobody serves is not a lost worker.
    servedQueues: async () => Object.fromEntries(await Promise.all(ctx.queues.all().filter((q) => q.name !== QUEUE.optimize).map(async (q) => [q.name, (await q.getWorkersCount()) > 0] as const))),
    snapshot: async () => {
      const [report, breaker, counters] = await Promise.all([
        riskReport(ctx),
        new BreakerStore(ctx.redis, ctx.keys, ctx.account, ctx.config.execution.breaker).state(),
        ctx.stats.counters(),
      ]);
      const wanted = Object.fromEntries(Object.entries(counters).filter(([k]) => /^(decisions|orders|fills|denials)(\.|$)/.test(k)));
      return {
        tradingState: report.tradingState.state,
        breaker: breaker.status,
        quotes: report.quotes.map((q) => ({ quote: q.quote, equity: q.equity, drawdown: q.drawdown, openPositions: q.openPositions })),
        counters: wanted,
      };
    },
  };
}

const SCHEDULED_RETENTION = { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } };

/**
 * The notifications queue's schedules, shared by every worker (BullMQ job schedulers: whoever is
 * free runs each one once): the digest flush, the monitor, and the daily summary at its UTC hour.
 */
export async function scheduleNotifications(ctx: Context): Promise<void> {
  const q = ctx.queues.notifications;
  const n = ctx.config.notify;
  await q.upsertJobScheduler(DIGEST_JOB, { every: n.digest.everySeconds * 1000 }, { name: DIGEST_JOB, data: {}, opts: { ...SCHEDULED_RETENTION, priority: 4 } });
  await q.upsertJobScheduler(MONITOR_JOB, { every: n.monitor.everySeconds * 1000 }, { name: MONITOR_JOB, data: {}, opts: { ...SCHEDULED_RETENTION, priority: 2 } });
  await q.upsertJobScheduler(DAILY_SUMMARY_JOB, { pattern: `0 0 ${n.monitor.dailySummaryHourUtc} * * *`, tz: 'UTC' }, { name: DAILY_SUMMARY_JOB, data: {}, opts: { ...SCHEDULED_RETENTION, priority: 4 } });
}
