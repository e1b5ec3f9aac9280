import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface ReadinessDeps {
  redis: Redis;
  queues: Queue[];
  /** The execution account's breaker: its status, and why it opened. */
  breaker(): Promise<{ account: string; state: { status: string; reason?: string; openedAt?: number } }>;
  /** A candle must have reached the ticks queue within this long for the feed to count as fresh. */
  feedMaxAgeMs: number;
}

export interface Readiness {
  ready: boolean;
  checks: { redis: boolean; workers: Record<string, number>; breaker: string | null; feedAgeMs: number | null };
  problems: string[];
}

/**
 * Ready means able to trade now: Redis answers, every queue has at least one worker (BullMQ's
 * list of connected workers, so workers in any process count), the breaker is closed, and a
 * candle reached the ticks queue recently. Each failed check adds a sentence saying what is wrong.
 */
export async function readiness(deps: ReadinessDeps, now = Date.now()): Promise<Readiness> {
  const problems: string[] = [];
  const checks: Readiness['checks'] = { redis: false, workers: {}, breaker: null, feedAgeMs: null };
  try {
    checks.redis = (await deps.redis.ping()) === 'PONG';
    if (!checks.redis) problems.push('redis did not answer PONG');
  } catch (error) {
    problems.push(`redis unreachable: ${(error as Error).message}`);
  }
  if (!checks.redis) return { ready: false, checks, problems };

  for (const queue of deps.queues) {
    const workers = (await queue.getWorkers()).length;
    checks.workers[queue.name] = workers;
    if (workers === 0) problems.push(`no worker serves queue "${queue.name}"`);
  }

  const { account, state } = await deps.breaker();
  checks.breaker = state.status;
  if (state.status !== 'closed') {
    problems.push(`the circuit breaker of "${account}" is ${state.status}${state.reason ? `: ${state.reason}` : ''}`);
  }

  const ticks = deps.queues.find((q) => q.name === 'ticks');
  const lastFeedAt = ticks ? await lastTickAt(ticks) : null;
  checks.feedAgeMs = lastFeedAt === null ? null : Math.max(0, now - lastFeedAt);
  if (checks.feedAgeMs === null) problems.push('the feed has not delivered a candle yet');
  else if (checks.feedAgeMs > deps.feedMaxAgeMs) {
    problems.push(`the feed is stale: its last candle reached the ticks queue ${Math.round(checks.feedAgeMs / 1000)} s ago (limit ${Math.round(deps.feedMaxAgeMs / 1000)} s)`);
  }
  return { ready: problems.length === 0, checks, problems };
}

/** When the newest tick job was added (waiting or running) or finished: the feed's last sign of life. */
async function lastTickAt(ticks: Queue): Promise<number | null> {
  // The newest of each state (a range of one per state), whichever is latest.
  const jobs = await ticks.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'], 0, 0, false);
  const times = jobs.filter(Boolean).map((j) => Math.max(j.timestamp, j.finishedOn ?? 0));
  return times.length === 0 ? null : Math.max(...times);
}
