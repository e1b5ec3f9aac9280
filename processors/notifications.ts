import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import { stamp } from '../src/contracts/envelope.ts';
import { NotificationDelivery, NotificationMessage } from '../src/contracts/messages.ts';
import type { Config } from '../src/config/schema.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { Notifier } from '../src/notify/channels.ts';
import { dedupeKeyOf } from '../src/notify/dedupe.ts';
import { renderDigest } from '../src/notify/digest.ts';
import { drawdownAlert } from '../src/notify/drawdown.ts';
import { DeliveryError } from '../src/notify/errors.ts';
import type { Deliverable } from '../src/notify/format.ts';
import { atLeast } from '../src/notify/priority.ts';
import { counterIncrease, renderDailySummary } from '../src/notify/summary.ts';
import { watchWorkers } from '../src/notify/workerWatch.ts';
import type { NotifyStore } from '../src/store/notifyStore.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { DAILY_SUMMARY_JOB, DELIVER_JOB, DIGEST_JOB, MONITOR_JOB, QUEUE, safeJobId } from '../queues/names.ts';
import { parseJob } from './common.ts';

/** What the scheduled checks read, wired in the composition root. */
export interface NotifyMonitor {
  account: string;
  maxDrawdown: number;
  /** Drawdown from the equity peak per quote currency (null while there is no peak yet). */
  drawdowns(): Promise<{ quote: string; drawdown: number | null }[]>;
  /** Whether each queue has at least one worker now (BullMQ getWorkers). */
  servedQueues(): Promise<Record<string, boolean>>;
  /** The figures of the daily summary, as they stand. */
  snapshot(): Promise<{
    tradingState: string;
    breaker: string;
    quotes: { quote: string; equity: string; drawdown: number | null; openPositions: number }[];
    counters: Record<string, number>;
  }>;
}

export interface NotificationDeps {
  stats: StatsStore;
  log: Logger;
  queues: Queues;
  store: NotifyStore;
  /** The enabled channels; the log is always written besides them. */
  channels: Notifier[];
  settings: Config['notify'];
  monitor?: NotifyMonitor | undefined;
  now(): number;
}

const DigestItem = z.object({ id: z.string(), event: z.string(), priority: z.enum(['info', 'warning', 'error', 'critical']), title: z.string(), body: z.string(), at: z.number() });

/**
 * The notifications queue. An event job is logged, checked for duplicates, then either added to
 * the digest or fanned out into one delivery job per channel (`_deliver`), each retried on its
 * own so that a failing channel never holds up the others. Scheduled jobs flush the digest
 * (`_digest`), watch drawdown and workers (`_monitor`) and send the daily summary.
 */
export function notificationsProcessor(deps: NotificationDeps) {
  return async (job: Job, token?: string) => {
    switch (job.name) {
      case DELIVER_JOB:
        return deliver(deps, job, token);
      case DIGEST_JOB:
        return flushDigest(deps, job);
      case MONITOR_JOB:
        return monitor(deps);
      case DAILY_SUMMARY_JOB:
        return dailySummary(deps);
      default:
        return fanOut(deps, await parseJob(QUEUE.notifications, NotificationMessage, job, deps.stats));
    }
  };
}

function deliverable(m: NotificationMessage): Deliverable {
  return { id: m.id, event: m.event, priority: m.priority, title: m.title, body: m.body, at: m.at };
}

async function fanOut(deps: NotificationDeps, m: NotificationMessage) {
  const fresh = await deps.store.claim(dedupeKeyOf(m), m.id, deps.settings.dedupeWindowSeconds * 1000);
  const level = m.priority === 'critical' || m.priority === 'error' ? 'error' : m.priority === 'warning' ? 'warn' : 'info';
  // The log is the channel that always gets everything, duplicates marked.
  deps.log[level]({ event: m.event, priority: m.priority, body: m.body, ...(fresh ? {} : { duplicate: true }) }, m.title);
  await deps.stats.incr(`notifications.${m.priority}`);
  if (!fresh) {
    await deps.stats.incr('notifications.suppressed');
    return { delivered: ['log'], suppressed: 'duplicate within notify.dedupeWindowSeconds' };
  }
  const targets = deps.channels.filter((c) => atLeast(m.priority, c.minPriority));
  if (targets.length === 0) return { delivered: ['log'] };
  if (!m.immediate && deps.settings.digest.priorities.includes(m.priority)) {
    await deps.store.pushDigest(deliverable(m), deps.settings.digest.maxItems);
    return { delivered: ['log'], digested: targets.map((c) => c.name) };
  }
  await deps.queues.addDeliveries(
    targets.map((c) => ({ ...stamp('notification-delivery', 1, deps.now(), `${m.id}-${c.name}`), channel: c.name, notification: deliverable(m) })),
    deps.settings.delivery,
  );
  return { delivered: ['log'], queued: targets.map((c) => c.name) };
}

async function deliver(deps: NotificationDeps, job: Job, token: string | undefined) {
  const d = await parseJob(QUEUE.notifications, NotificationDelivery, job, deps.stats);
  const channel = deps.channels.find((c) => c.name === d.channel);
  if (!channel) throw new UnrecoverableError(`channel ${d.channel} is not enabled in this worker's configuration (notify.${d.channel}.enabled)`);
  const startedAt = Date.now();
  try {
    await channel.send(d.notification);
  } catch (error) {
    const e = error instanceof DeliveryError ? error : new DeliveryError(d.channel, 'failed', true);
    const attempts = job.opts.attempts ?? 1;
    const final = !e.retryable || job.attemptsMade + 1 >= attempts;
    deps.log[final ? 'warn' : 'debug']({ channel: d.channel, event: d.notification.event, attempt: job.attemptsMade + 1, err: e.message }, final ? 'notification not delivered' : 'notification delivery will be retried');
    if (!e.retryable) {
      await deps.stats.incr(`notifications.failed.${d.channel}`);
      throw new UnrecoverableError(e.message);
    }
    if (final) await deps.stats.incr(`notifications.failed.${d.channel}`);
    // The channel said how long to wait (429): wait that long without spending an attempt, a bounded number of times.
    if (e.retryAfterMs !== undefined && token && (job.attemptsStarted ?? 0) < attempts) {
      await job.moveToDelayed(Date.now() + Math.min(e.retryAfterMs, 3_600_000), token);
      throw new DelayedError();
    }
    throw new Error(e.message);
  }
  await deps.stats.incr(`notifications.delivered.${d.channel}`);
  return { channel: d.channel, event: d.notification.event, ms: Date.now() - startedAt };
}

async function flushDigest(deps: NotificationDeps, job: Job) {
  const flushId = safeJobId(String(job.id));
  const items = (await deps.store.takeDigest(flushId)).flatMap((raw) => {
    const parsed = DigestItem.safeParse(raw);
    return parsed.success ? [parsed.data] : [];
  });
  const now = deps.now();
  const deliveries = deps.channels.flatMap((c) => {
    const digest = renderDigest(items, c.minPriority, `digest-${flushId}`, now);
    return digest ? [{ ...stamp('notification-delivery', 1, now, `digest-${flushId}-${c.name}`), channel: c.name, notification: digest }] : [];
  });
  if (deliveries.length > 0) await deps.queues.addDeliveries(deliveries, deps.settings.delivery);
  await deps.store.finishDigest(flushId);
  if (items.length > 0) deps.log.info({ events: items.length, channels: deliveries.map((d) => d.channel) }, 'digest sent');
  return { events: items.length, channels: deliveries.map((d) => d.channel) };
}

async function notify(deps: NotificationDeps, a: { event: string; priority: NotificationMessage['priority']; title: string; body: string; dedupeKey?: string; immediate?: boolean }) {
  await deps.queues.notify({ ...stamp('notification', 1, deps.now()), ...a });
}

async function monitor(deps: NotificationDeps) {
  const m = deps.monitor;
  if (!m) return { skipped: 'no monitor in this process' };
  const now = deps.now();
  const { drawdownThresholds, workerLostAfterSeconds } = deps.settings.monitor;
  const out: { drawdown: Record<string, number>; alerts: string[] } = { drawdown: {}, alerts: [] };

  const levels = await deps.store.drawdownLevels(m.account);
  for (const { quote, drawdown } of await m.drawdowns()) {
    if (drawdown === null) continue;
    const previous = levels[quote] ?? 0;
    const { level, alert } = drawdownAlert(quote, previous, drawdown, drawdownThresholds, m.maxDrawdown);
    out.drawdown[quote] = drawdown;
    if (level !== previous) await deps.store.setDrawdownLevel(m.account, quote, level);
    if (alert) {
      await notify(deps, alert);
      out.alerts.push(alert.event);
    }
  }

  const { seen, alerts } = watchWorkers(await deps.store.workersSeen(), await m.servedQueues(), now, workerLostAfterSeconds * 1000);
  await deps.store.setWorkersSeen(seen);
  for (const alert of alerts) {
    await notify(deps, alert);
    out.alerts.push(alert.event);
  }
  return out;
}

async function dailySummary(deps: NotificationDeps) {
  const m = deps.monitor;
  if (!m) return { skipped: 'no monitor in this process' };
  const now = deps.now();
  const day = new Date(now).toISOString().slice(0, 10);
  const [snapshot, last, seen] = await Promise.all([m.snapshot(), deps.store.lastSummary(m.account), deps.store.workersSeen()]);
  const { title, body } = renderDailySummary({
    day,
    account: m.account,
    tradingState: snapshot.tradingState,
    breaker: snapshot.breaker,
    quotes: snapshot.quotes.map((q) => ({ ...q, previousEquity: last?.equity[q.quote] })),
    activity: counterIncrease(snapshot.counters, last?.counters),
    workersLost: Object.entries(seen).filter(([, s]) => s.lost).map(([q]) => q),
  });
  await notify(deps, { event: 'daily.summary', priority: 'info', title, body, dedupeKey: day, immediate: true });
  await deps.store.setLastSummary(m.account, { day, counters: snapshot.counters, equity: Object.fromEntries(snapshot.quotes.map((q) => [q.quote, q.equity])) });
  return { day, title };
}
