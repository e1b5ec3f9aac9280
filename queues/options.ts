import type { DefaultJobOptions } from 'bullmq';
import type { Config } from '../src/config/schema.ts';

/** Defaults applied once, to every queue: bounded retention, exponential backoff with jitter. */
export function defaultJobOptions(config: Config): DefaultJobOptions {
  return {
    attempts: config.queues.attempts,
    backoff: { type: 'exponential', delay: config.queues.backoffMs, jitter: 0.5 },
    removeOnComplete: config.queues.keepCompleted,
    removeOnFail: config.queues.keepFailed,
  };
}

/**
 * An analysis child that fails for good is moved to its parent's ignored failures instead of
 * failing or blocking the coordinator: one broken bot never stalls a decision.
 */
export const ANALYSIS_CHILD_OPTIONS = {
  ignoreDependencyOnFailure: true,
  failParentOnFailure: false,
  /** Only a crashed thread is worth retrying; a bot's own failure fails at once (UnrecoverableError). */
  attempts: 2,
} as const;

/** BullMQ priority of a notification job: lower runs first, so critical (1) is handled before info (4). */
export function bullPriority(priority: 'info' | 'warning' | 'error' | 'critical'): number {
  return { critical: 1, error: 2, warning: 3, info: 4 }[priority];
}
