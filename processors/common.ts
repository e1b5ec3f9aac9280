import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { describeZodError } from '../src/contracts/envelope.ts';
import { isRetryable } from '../src/core/errors.ts';
import type { StatsStore } from '../src/store/statsStore.ts';

/**
 * Checks a job's payload again on the way out of the queue: anything can write to Redis, and a
 * payload from an older or newer producer must be refused, not misread. Invalid → fail at once.
 */
export async function parseJob<S extends z.ZodType>(queue: string, schema: S, job: Job, stats: StatsStore): Promise<z.infer<S>> {
  const result = schema.safeParse(job.data);
  if (result.success) return result.data;
  const problems = describeZodError(result.error);
  await stats.reject({ what: 'payload', reason: queue, detail: problems, where: `${queue} job ${job.id}` });
  throw new UnrecoverableError(`invalid ${queue} payload: ${problems}`);
}

/** Applies the error taxonomy: an error that says it is not retryable fails the job at once. */
export function asJobError(error: unknown): Error {
  if (error instanceof UnrecoverableError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  if (!isRetryable(err)) {
    const unrecoverable = new UnrecoverableError(`${err.name}: ${err.message}`);
    unrecoverable.stack = err.stack ?? '';
    return unrecoverable;
  }
  return err;
}
