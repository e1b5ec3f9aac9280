import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { describeZodError } from '../src/contracts/envelope.ts';
import { isRetryable } from '../src/core/errors.ts';
import { marketKey } from '../src/core/market.ts';
import type { DecisionStore } from '../src/store/decisionStore.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { jobId } from '../queues/names.ts';
import { stamp } from '../src/contracts/envelope.ts';
import type { OrderRecord } from '../src/core/order.ts';

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

/** Where the decision on one candle stands, as a later job waiting for it sees it. */
export type DecisionProgress = 'decided' | 'pending' | 'never';

/**
 * Whether the decision on (symbol, timeframe, ts) is made, still to come, or will never come.
 * Still to come: its coordinator job has not ended, or its tick is queued and will create that
 * job. Never: the tick or the coordinator job failed, or neither exists (the candle never came).
 */
export async function decisionProgress(
  queues: Pick<Queues, 'ticks' | 'coordinator'>,
  decisions: Pick<DecisionStore, 'get'>,
  step: { symbol: string; timeframe: string; ts: number },
): Promise<DecisionProgress> {
  if (await decisions.get(step.symbol, step.timeframe, step.ts)) return 'decided';
  const key = marketKey(step.symbol);
  for (const [queue, id] of [
    [queues.coordinator, jobId.decision(key, step.timeframe, step.ts)],
    [queues.ticks, jobId.tick(key, step.timeframe, step.ts)],
  ] as const) {
    const job = await queue.getJob(id);
    if (!job) continue;
    const state = await job.getState();
    if (state === 'failed') return 'never';
    if (state !== 'completed' && state !== 'unknown') return 'pending';
  }
  // Recorded between the first look and now, or gone for good.
  return (await decisions.get(step.symbol, step.timeframe, step.ts)) ? 'decided' : 'never';
}

/**
 * Tells the operator about orders that have just filled completely (an info event: digested by
 * default). Called wherever fills happen, paper or live; the client order id is the dedupe key,
 * so a retried job that reports the same fill again is not sent twice.
 */
export async function notifyFilled(queues: Pick<Queues, 'notify'>, orders: readonly OrderRecord[], now: number): Promise<void> {
  for (const order of orders) {
    if (order.status !== 'filled') continue;
    const { intent } = order;
    const [base, quote] = intent.symbol.split('/');
    await queues.notify({
      ...stamp('notification', 1, now),
      priority: 'info',
      event: 'order.filled',
      title: `${intent.side} ${order.filledAmount} ${base} filled at ${order.avgPrice} ${quote}`,
      body: `${intent.symbol} ${intent.type} order ${intent.clientOrderId}: ${order.fillCount} fill${order.fillCount === 1 ? '' : 's'}, cost ${order.filledCost} ${quote}${order.fill ? `, last fee ${order.fill.fee} ${order.fill.feeCurrency}` : ''}${intent.reason ? `; ${intent.reason}` : ''}`.slice(0, 4000),
      dedupeKey: intent.clientOrderId,
    });
  }
}
