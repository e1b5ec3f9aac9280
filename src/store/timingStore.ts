import type { Redis } from 'ioredis';
import type { Keyspace } from '../infra/keys.ts';
import { BatchedHashWrites } from './batchedHashWrites.ts';

/** Upper bounds (seconds) of the job-duration histogram buckets; +Inf is the count. */
export const JOB_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

export interface DurationHistogram {
  /** Cumulative counts per bucket, in JOB_DURATION_BUCKETS order. */
  buckets: number[];
  sum: number;
  count: number;
}

export interface Timings {
  /** Processing time of finished jobs (completed or failed), per queue. */
  jobs: Record<string, DurationHistogram>;
  /** Time of each bot instance's analysis jobs: total seconds and count. */
  bots: Record<string, { sum: number; count: number }>;
}

/**
 * Job and bot timings in one Redis hash, written by every worker process and read by whoever
 * serves /metrics: so the figures cover all processes, not the one that is scraped. Observations
 * are batched (one round trip per 200 ms at most), like the job counters.
 */
export class TimingStore {
  private readonly writes: BatchedHashWrites;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    /** Where a failed background flush is reported (the figures of that batch are lost, the jobs are not). */
    onError: (error: Error) => void = () => undefined,
  ) {
    this.writes = new BatchedHashWrites(redis, onError);
  }

  /** One finished job: its queue, how long it ran, and (analysis jobs) the bot instance. */
  observe(queue: string, ms: number, instanceId?: string): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const seconds = ms / 1000;
    const bucket = JOB_DURATION_BUCKETS.findIndex((b) => seconds <= b);
    this.add(`job|${queue}|${bucket === -1 ? 'inf' : bucket}`, 1);
    this.add(`job|${queue}|sum`, seconds);
    if (instanceId) {
      this.add(`bot|${instanceId}|sum`, seconds);
      this.add(`bot|${instanceId}|count`, 1);
    }
  }

  private add(field: string, by: number): void {
    this.writes.increment(this.keys.timings, field, by);
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }

  async read(): Promise<Timings> {
    const raw = await this.redis.hgetall(this.keys.timings);
    const jobs: Record<string, { perBucket: number[]; inf: number; sum: number }> = {};
    const bots: Timings['bots'] = {};
    for (const [field, value] of Object.entries(raw)) {
      const [kind, name, part] = field.split('|') as [string, string, string];
      const n = Number(value);
      if (kind === 'job') {
        const h = (jobs[name] ??= { perBucket: JOB_DURATION_BUCKETS.map(() => 0), inf: 0, sum: 0 });
        if (part === 'sum') h.sum = n;
        else if (part === 'inf') h.inf = n;
        else h.perBucket[Number(part)] = n;
      } else if (kind === 'bot') {
        const b = (bots[name] ??= { sum: 0, count: 0 });
        if (part === 'sum') b.sum = n;
        else b.count = n;
      }
    }
    const out: Timings['jobs'] = {};
    for (const [queue, h] of Object.entries(jobs)) {
      let running = 0;
      const buckets = h.perBucket.map((c) => (running += c));
      out[queue] = { buckets, sum: h.sum, count: running + h.inf };
    }
    return { jobs: out, bots };
  }
}
