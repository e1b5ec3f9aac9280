import type { Job } from 'bullmq';
import { ExecutionMessage } from '../src/contracts/messages.ts';
import type { ExchangeGateway } from '../src/exchange/gateway.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { asJobError, parseJob } from './common.ts';
import { stamp } from '../src/contracts/envelope.ts';

export interface ExecutionDeps {
  gateway: ExchangeGateway;
  stats: StatsStore;
  queues: Queues;
  log: Logger;
  now(): number;
}

/**
 * Places one order (market or limit) under its deterministic client order id. The venue returns the existing order
 * for a known id, so a retried, replayed or manually re-run job never places a second one.
 */
export function executionProcessor(deps: ExecutionDeps) {
  return async (job: Job) => {
    const m = await parseJob(deps.queues.execution.name, ExecutionMessage, job, deps.stats);
    try {
      const { order, duplicate } = await deps.gateway.placeOrder(m.intent, m.timeframe, deps.now());
      if (duplicate) await deps.stats.incr('orders.duplicate-suppressed');
      if (order.status === 'rejected' && !duplicate) {
        deps.log.warn({ clientOrderId: m.intent.clientOrderId, reason: order.reason }, 'order rejected by the venue');
        await deps.queues.notify({
          ...stamp('notification', 1, deps.now()),
          priority: 'error',
          event: 'order.rejected',
          title: `${m.intent.side} ${m.intent.amount} ${m.intent.symbol}${m.intent.type === 'limit' ? ` at ${m.intent.price}` : ''} rejected`,
          body: order.reason ?? 'no reason given',
        });
      }
      // A limit order usually comes back 'open' (resting); later candles fill it in parts.
      return {
        clientOrderId: m.intent.clientOrderId,
        type: m.intent.type,
        status: order.status,
        duplicate,
        filledAmount: order.filledAmount,
        remaining: order.remaining,
        fills: order.fillCount,
        fill: order.fill ?? null,
        reason: order.reason ?? null,
      };
    } catch (error) {
      throw asJobError(error);
    }
  };
}
