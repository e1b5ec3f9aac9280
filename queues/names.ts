/**
 * Queue names. DESIGN.md calls the execution queue "execution:<exchange>"; BullMQ forbids ":" in
 * queue names, so it is spelled "execution-<account>". The CLI accepts both spellings.
 */
export const QUEUE = {
  ticks: 'ticks',
  analysis: 'analysis',
  coordinator: 'coordinator',
  notifications: 'notifications',
  optimize: 'optimize',
} as const;

export type StaticQueueName = (typeof QUEUE)[keyof typeof QUEUE];

export function executionQueueName(account: string): string {
  return `execution-${account}`;
}

/** Normalises a name given on the command line ("execution:paper" → "execution-paper"). */
export function normaliseQueueName(name: string): string {
  return name.replace(/^execution:/, 'execution-');
}

export function allQueueNames(account: string): string[] {
  return [QUEUE.ticks, QUEUE.analysis, QUEUE.coordinator, executionQueueName(account), QUEUE.notifications, QUEUE.optimize];
}

/** Deterministic job ids: a replayed candle or a retried add is a no-op, never a second job. */
export const jobId = {
  tick: (marketKey: string, tf: string, ts: number) => `tick-${marketKey}-${tf}-${ts}`,
  decision: (marketKey: string, tf: string, ts: number) => `decide-${marketKey}-${tf}-${ts}`,
  analysis: (instanceId: string, marketKey: string, tf: string, ts: number) => `an-${instanceId}-${marketKey}-${tf}-${ts}`,
  sweep: (sweepId: string) => `sweep-${sweepId}`,
  sweepRun: (sweepId: string, combo: number, segment: 'full' | number) => `sweep-${sweepId}-c${combo}-${segment === 'full' ? 'full' : `p${segment}`}`,
};

/** The notifications queue's own jobs; event names cannot start with "_", so they never clash. */
export const DELIVER_JOB = '_deliver';
export const DIGEST_JOB = '_digest';
export const MONITOR_JOB = '_monitor';
export const DAILY_SUMMARY_JOB = '_daily-summary';

/** BullMQ refuses ":" in custom job ids; anything else unusual is replaced too. */
export function safeJobId(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 250);
}
