import type { OrderIntent, OrderRecord } from '../../core/order.ts';
import type { ExchangeGateway } from '../gateway.ts';
import type { SlicePlan } from './slicing.ts';

export interface AlgoProgress {
  /** All children settled (filled, cancelled or rejected): the parent is done. */
  done: boolean;
  /** When to look again, if not done. */
  wakeAt?: number;
  /** A child the venue refused: the rest are not sent. */
  failed?: string;
  children: { clientOrderId: string; amount: string; status: OrderRecord['status'] | 'waiting'; filledAmount: string }[];
}

export interface AlgoClock {
  now: number;
  /** When the parent began (stored with the job, so a retry keeps the schedule). */
  startedAt: number;
  /** Real venues wait for each TWAP child's time; a simulated venue fills by candle time instead (see childIntent). */
  realTime: boolean;
  pollMs: number;
}

/**
 * Moves a sliced parent forward: sends every child that is due and not sent yet (TWAP: at its
 * offset; iceberg: once the one before it has settled) through the gateway, which never places a
 * client order id twice, and reports where the parent stands. Re-running it is always safe.
 */
export async function advanceAlgo(gateway: ExchangeGateway, parent: OrderIntent, timeframe: string, plan: SlicePlan, clock: AlgoClock): Promise<AlgoProgress> {
  const children: AlgoProgress['children'] = [];
  let wakeAt: number | undefined;
  let previous: OrderRecord | undefined;
  let blocked = false;
  for (const child of plan.children) {
    let order = await gateway.findOrder(child.clientOrderId);
    const due = clock.realTime ? clock.startedAt + child.offsetMs : clock.now;
    const previousSettled = previous === undefined || previous.status !== 'open';
    const mayStart = !blocked && clock.now >= due && (plan.algo !== 'iceberg' || previousSettled);
    if (!order && mayStart) {
      order = (await gateway.placeOrder(childIntent(parent, child, plan, previous), timeframe, clock.now)).order;
    } else if (order?.status === 'open' && clock.realTime) {
      // A real venue fills on its own: placing a known id again refreshes it from the venue.
      order = (await gateway.placeOrder(childIntent(parent, child, plan, previous), timeframe, clock.now)).order;
    }
    if (order?.status === 'rejected') {
      children.push({ clientOrderId: child.clientOrderId, amount: child.amount, status: 'rejected', filledAmount: order.filledAmount });
      return { done: true, failed: `child ${child.index + 1}/${plan.children.length} (${child.clientOrderId}) rejected: ${order.reason ?? 'no reason given'}`, children: [...children, ...rest(plan, children.length)] };
    }
    if (!order) {
      blocked = plan.algo === 'iceberg';
      wakeAt = Math.min(wakeAt ?? Infinity, clock.now >= due ? clock.now + clock.pollMs : due);
    } else if (order.status === 'open') {
      wakeAt = Math.min(wakeAt ?? Infinity, clock.now + clock.pollMs);
    }
    children.push({ clientOrderId: child.clientOrderId, amount: child.amount, status: order?.status ?? 'waiting', filledAmount: order?.filledAmount ?? '0' });
    previous = order;
    if (plan.algo === 'iceberg' && (!order || order.status === 'open')) blocked = true;
  }
  const done = children.every((c) => c.status !== 'open' && c.status !== 'waiting');
  return done ? { done, children } : { done, wakeAt: wakeAt ?? clock.now + clock.pollMs, children };
}

function rest(plan: SlicePlan, from: number): AlgoProgress['children'] {
  return plan.children.slice(from).map((c) => ({ clientOrderId: c.clientOrderId, amount: c.amount, status: 'waiting' as const, filledAmount: '0' }));
}

/**
 * A child's intent: the parent's, with its own id and amount. Its decision time (the candle a
 * simulated venue fills after) moves with the schedule: a TWAP child by its offset, an iceberg
 * child to the last fill of the child before it, so that no child fills on candles its
 * predecessor already used.
 */
function childIntent(parent: OrderIntent, child: SlicePlan['children'][number], plan: SlicePlan, previous: OrderRecord | undefined): OrderIntent {
  const decisionTs = plan.algo === 'iceberg' ? Math.max(parent.decisionTs, previous?.fill?.ts ?? previous?.matchedThrough ?? parent.decisionTs) : parent.decisionTs + child.offsetMs;
  const reason = `${plan.algo} ${child.index + 1}/${plan.children.length}: ${parent.reason}`.slice(0, 500);
  return { ...parent, clientOrderId: child.clientOrderId, amount: child.amount, decisionTs, reason };
}
