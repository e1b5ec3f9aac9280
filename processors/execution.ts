import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { ExecutionMessage } from '../src/contracts/messages.ts';
import type { ExchangeGateway } from '../src/exchange/gateway.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { asJobError, notifyFilled, parseJob } from './common.ts';
import { stamp } from '../src/contracts/envelope.ts';
import { isRetryable, type QuorumError } from '../src/core/errors.ts';
import type { MarketRules } from '../src/core/market.ts';
import { planSlices, type AlgoSettings } from '../src/exchange/algos/slicing.ts';
import { advanceAlgo } from '../src/exchange/algos/runAlgo.ts';

/** The job that brings the ledger in line with the venue (at start-up and on a schedule). */
export const RECONCILE_JOB = 'reconcile';

export interface ExecutionDeps {
  gateway: ExchangeGateway;
  stats: StatsStore;
  queues: Queues;
  log: Logger;
  now(): number;
  /** A job started this many times (retries and deferrals together) fails for good. */
  maxStartedAttempts: number;
  /** Until when every process must leave the venue alone (its Retry-After), if it said so. */
  backOffUntil?(): Promise<number | undefined>;
  /** Runs reconciliation; returns what it did (shown in Bull Board as the job's result). */
  reconcile?(now: number): Promise<unknown>;
  /** Appends to the audit trail. */
  audit?(type: string, data: Record<string, unknown>): Promise<void>;
  /** TWAP / iceberg: intents above the threshold are sent as child orders. */
  algo?: {
    settings: AlgoSettings;
    rulesOf(symbol: string): MarketRules | undefined;
    /** A real venue: TWAP children wait for their time; paper fills them by candle time. */
    realTime: boolean;
    pollMs: number;
  };
}

/** How long a deferred order waits when the venue gave no time: the breaker is open, or a resend must wait. */
const DEFER_MS = 1000;
/** An order that found the breaker open waits this long; the paused queue holds it after that. */
const BREAKER_DEFER_MS = 5000;

/**
 * Places one order (market or limit) under its deterministic client order id, which is also the
 * job id. The gateway returns the existing order for a known id, so a retried, replayed or
 * manually re-run job never places a second one. Retry policy comes from the error taxonomy:
 * throttled → the whole queue waits the venue's Retry-After (not counted as an attempt); transient
 * → exponential backoff with jitter; permanent → the job fails at once with the venue's reason.
 */
export function executionProcessor(deps: ExecutionDeps) {
  return async (job: Job, token?: string) => {
    if (job.name === RECONCILE_JOB) {
      if (!deps.reconcile) return { skipped: 'this venue needs no reconciliation' };
      return deps.reconcile(deps.now());
    }
    const m = await parseJob(deps.queues.execution.name, ExecutionMessage, job, deps.stats);
    const plan = planFor(deps, m);
    if (plan) return runAlgo(deps, job, token, m, plan);
    const started = job.attemptsStarted ?? 0;
    if (started > deps.maxStartedAttempts) {
      const reason = `gave up after ${started - 1} started attempts (execution.maxStartedAttempts ${deps.maxStartedAttempts})`;
      await failed(deps, m, reason);
      throw new UnrecoverableError(reason);
    }
    try {
      const { order, duplicate, recovered } = await deps.gateway.placeOrder(m.intent, m.timeframe, deps.now());
      if (duplicate) await deps.stats.incr('orders.duplicate-suppressed');
      if (recovered) await deps.audit?.('order.recovered', { clientOrderId: m.intent.clientOrderId, status: order.status, venueOrderId: order.venueOrderId ?? null });
      if (order.status === 'rejected') {
        if (!duplicate) {
          deps.log.warn({ clientOrderId: m.intent.clientOrderId, reason: order.reason }, 'order rejected by the venue');
          await failed(deps, m, order.reason ?? 'no reason given');
        }
        throw new UnrecoverableError(`order rejected by the venue: ${order.reason ?? 'no reason given'}`);
      }
      if (!duplicate) await deps.audit?.('order.placed', { clientOrderId: m.intent.clientOrderId, symbol: m.intent.symbol, side: m.intent.side, amount: m.intent.amount, status: order.status, venueOrderId: order.venueOrderId ?? null });
      if (!duplicate) await notifyFilled(deps.queues, [order], deps.now());
      // A limit order usually comes back 'open' (resting); later candles or the venue fill it.
      return {
        clientOrderId: m.intent.clientOrderId,
        type: m.intent.type,
        status: order.status,
        duplicate,
        filledAmount: order.filledAmount,
        remaining: order.remaining,
        fills: order.fillCount,
        fill: order.fill ?? null,
        venueOrderId: order.venueOrderId ?? null,
      };
    } catch (error) {
      return settleFailure(deps, job, token, m, error);
    }
  };
}

/**
 * Applies the retry policy to a failed step: throttled → the whole queue waits the venue's
 * Retry-After and the attempt is given back; breaker open or a resend that must wait → the job
 * waits without spending an attempt; permanent → fails at once, notified and audited; anything
 * else → BullMQ's exponential backoff with jitter.
 */
async function settleFailure(deps: ExecutionDeps, job: Job, token: string | undefined, m: ExecutionMessage, error: unknown): Promise<never> {
  if (error instanceof UnrecoverableError) throw error;
  const code = (error as Partial<QuorumError>).code;
  if (code === 'venue.throttled') {
    const until = (await deps.backOffUntil?.()) ?? 0;
    const wait = Math.max(DEFER_MS, until - Date.now());
    await deps.stats.incr('orders.throttled');
    deps.log.warn({ clientOrderId: m.intent.clientOrderId, waitMs: wait }, 'venue rate limit: the execution queue backs off');
    await deps.queues.execution.rateLimit(wait);
    throw Worker.RateLimitError();
  }
  if ((code === 'breaker.open' || code === 'order.resend-too-soon') && token) {
    // Not a failure of the order: it waits (the breaker also pauses the queue).
    const wait = code === 'breaker.open' ? BREAKER_DEFER_MS : Math.max(DEFER_MS, Number((error as { waitMs?: number }).waitMs) || 0);
    await job.moveToDelayed(Date.now() + wait, token);
    throw new DelayedError();
  }
  // Permanent, or retryable with no attempt left: either way the order has failed for good.
  const lastAttempt = job.attemptsMade + 1 >= (job.opts?.attempts ?? 1);
  if (!isRetryable(error)) await failed(deps, m, (error as Error).message);
  else if (lastAttempt) await failed(deps, m, `${(error as Error).message} (no attempt left of ${job.opts?.attempts ?? 1})`);
  throw asJobError(error);
}

/** The plan stored with the job, or a new one for an intent above the threshold; undefined: send it whole. */
function planFor(deps: ExecutionDeps, m: ExecutionMessage): NonNullable<ExecutionMessage['algo']>['plan'] | undefined {
  if (m.algo) return m.algo.plan;
  const algo = deps.algo;
  const rules = algo && m.refPrice !== undefined ? algo.rulesOf(m.intent.symbol) : undefined;
  if (!algo || !rules) return undefined;
  const refPrice = m.intent.type === 'limit' ? m.intent.price : String(m.refPrice);
  const plan = planSlices(m.intent, refPrice, rules, algo.settings);
  return plan.algo === 'none' ? undefined : { algo: plan.algo, children: plan.children, ...(plan.note ? { note: plan.note } : {}) };
}

/**
 * A sliced intent: the job stays alive (moved to delayed between steps) until every child has
 * settled, so the coordinator sees the intent as pending all along. Each step re-reads the
 * children by client order id, so a retry or a crashed worker picks up where it was.
 */
async function runAlgo(deps: ExecutionDeps, job: Job, token: string | undefined, m: ExecutionMessage, plan: NonNullable<ExecutionMessage['algo']>['plan']): Promise<unknown> {
  const now = deps.now();
  if (!m.algo) {
    m = { ...m, algo: { startedAt: now, plan } };
    await job.updateData(m);
    await deps.audit?.('algo.started', { clientOrderId: m.intent.clientOrderId, algo: plan.algo, children: plan.children.length, note: plan.note ?? null });
  }
  const { realTime, pollMs } = deps.algo ?? { realTime: true, pollMs: 1000 };
  let progress;
  try {
    progress = await advanceAlgo(deps.gateway, m.intent, m.timeframe, plan, { now, startedAt: m.algo!.startedAt, realTime, pollMs });
  } catch (error) {
    return settleFailure(deps, job, token, m, error);
  }
  if (progress.failed) {
    await failed(deps, m, progress.failed);
    throw new UnrecoverableError(progress.failed);
  }
  if (!progress.done && token) {
    await job.updateProgress({ children: progress.children });
    await job.moveToDelayed(Math.max(progress.wakeAt ?? 0, Date.now() + 10), token);
    throw new DelayedError();
  }
  return { clientOrderId: m.intent.clientOrderId, algo: plan.algo, done: progress.done, children: progress.children };
}

async function failed(deps: ExecutionDeps, m: ExecutionMessage, reason: string): Promise<void> {
  const { intent } = m;
  await deps.audit?.('order.failed', { clientOrderId: intent.clientOrderId, symbol: intent.symbol, side: intent.side, amount: intent.amount, reason });
  await deps.queues.notify({
    ...stamp('notification', 1, deps.now()),
    priority: 'error',
    event: 'order.rejected',
    title: `${intent.side} ${intent.amount} ${intent.symbol}${intent.type === 'limit' ? ` at ${intent.price}` : ''} rejected`,
    body: reason.slice(0, 4000),
    dedupeKey: intent.clientOrderId,
  });
}
