import type { Priority } from './priority.ts';

export type QueuesSeen = Record<string, { lastSeen: number; lost: boolean }>;

export interface WorkerAlert {
  event: 'worker.lost' | 'worker.restored';
  priority: Priority;
  title: string;
  body: string;
  dedupeKey: string;
}

/**
 * Which queues lost their last worker, or got one back, since the previous look. A queue that has
 * never had a worker is not watched (a deployment need not serve every queue from the start);
 * one that had and has had none for `lostAfterMs` is lost, once, until a worker is back.
 */
export function watchWorkers(seen: QueuesSeen, served: Record<string, boolean>, now: number, lostAfterMs: number): { seen: QueuesSeen; alerts: WorkerAlert[] } {
  const next: QueuesSeen = { ...seen };
  const alerts: WorkerAlert[] = [];
  for (const [queue, isServed] of Object.entries(served)) {
    const before = seen[queue];
    if (isServed) {
      next[queue] = { lastSeen: now, lost: false };
      if (before?.lost) {
        alerts.push({ event: 'worker.restored', priority: 'warning', title: `queue ${queue} has a worker again`, body: 'Its jobs are being processed again.', dedupeKey: `${queue}:${now}` });
      }
      continue;
    }
    if (!before || before.lost || now - before.lastSeen < lostAfterMs) continue;
    next[queue] = { ...before, lost: true };
    alerts.push({
      event: 'worker.lost',
      priority: 'critical',
      title: `no worker serves queue ${queue}`,
      body: `The last one was seen ${new Date(before.lastSeen).toISOString()}; its jobs wait until one starts (quorum worker --queues ${queue}).`,
      dedupeKey: `${queue}:${before.lastSeen}`,
    });
  }
  return { seen: next, alerts };
}
