import type { Job } from 'bullmq';
import { NotificationMessage } from '../src/contracts/messages.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import { QUEUE } from '../queues/names.ts';
import { parseJob } from './common.ts';

export interface NotificationDeps {
  stats: StatsStore;
  log: Logger;
}

/**
 * Delivers a notification. The log is the one channel so far: every event reaches the operator's
 * log at a level that matches its priority. Chat, webhook and email channels plug in here.
 */
export function notificationsProcessor(deps: NotificationDeps) {
  return async (job: Job) => {
    const m = await parseJob(QUEUE.notifications, NotificationMessage, job, deps.stats);
    const level = m.priority === 'critical' || m.priority === 'error' ? 'error' : m.priority === 'warning' ? 'warn' : 'info';
    deps.log[level]({ event: m.event, priority: m.priority, body: m.body }, m.title);
    await deps.stats.incr(`notifications.${m.priority}`);
    return { delivered: ['log'] };
  };
}
