import { nextProbeAt, type BreakerState } from '../exchange/breaker.ts';
import { AuditLog } from '../store/auditLog.ts';
import { BreakerStore } from '../store/breakerStore.ts';
import type { Context } from './context.ts';
import { BreakerEvents } from './venue.ts';

export interface BreakerReport {
  account: string;
  state: BreakerState;
  /** The execution queue is paused (by the breaker, or by hand in Bull Board). */
  queuePaused: boolean;
  /** When a worker will next probe the exchange, while it is open. */
  nextProbeAt: number | null;
}

export async function breakerReport(ctx: Context): Promise<BreakerReport> {
  const policy = ctx.config.execution.breaker;
  const state = await new BreakerStore(ctx.redis, ctx.keys, ctx.account, policy).state();
  return { account: ctx.account, state, queuePaused: await ctx.queues.execution.isPaused(), nextProbeAt: nextProbeAt(state, policy) ?? null };
}

/**
 * Closes the breaker by hand (after fixing what opened it: rotated keys, a venue back up): the
 * execution queue resumes for every worker, and the change is audited and notified like any other.
 */
export async function resetBreaker(ctx: Context, reason: string): Promise<BreakerReport> {
  const store = new BreakerStore(ctx.redis, ctx.keys, ctx.account, ctx.config.execution.breaker);
  const step = await store.record({ type: 'reset', at: Date.now() });
  const audit = new AuditLog(ctx.redis, ctx.keys);
  try {
    await new BreakerEvents(ctx, ctx.queues.execution, audit).on(step.transition, `reset by hand: ${reason}`);
  } finally {
    await audit.close();
  }
  return breakerReport(ctx);
}
