import type { Redis } from 'ioredis';

/**
 * Hash increments and sets gathered for `delayMs` and written in one MULTI: job counters, job
 * timings and bot health are touched by every job, and a round trip each would cost more than
 * the job itself. A failed background write is reported to `onError`; what it held is lost
 * (figures, never jobs).
 */
export class BatchedHashWrites {
  private increments = new Map<string, Map<string, number>>();
  private sets = new Map<string, Map<string, string>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly onError: (error: Error) => void = () => undefined,
    private readonly delayMs = 200,
  ) {}

  increment(key: string, field: string, by: number): void {
    const fields = this.increments.get(key) ?? new Map<string, number>();
    this.increments.set(key, fields);
    fields.set(field, (fields.get(field) ?? 0) + by);
    this.schedule();
  }

  /** The last value set wins, written after this batch's increments. */
  set(key: string, field: string, value: string): void {
    const fields = this.sets.get(key) ?? new Map<string, string>();
    this.sets.set(key, fields);
    fields.set(field, value);
    this.schedule();
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.increments.size === 0 && this.sets.size === 0) return;
    const increments = this.increments;
    const sets = this.sets;
    this.increments = new Map();
    this.sets = new Map();
    const multi = this.redis.multi();
    for (const [key, fields] of increments) {
      for (const [field, by] of fields) {
        if (Number.isInteger(by)) multi.hincrby(key, field, by);
        else multi.hincrbyfloat(key, field, by);
      }
    }
    for (const [key, fields] of sets) multi.hset(key, ...[...fields].flat());
    await multi.exec();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => void this.flush().catch(this.onError), this.delayMs);
  }
}
