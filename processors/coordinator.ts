import type { Job } from 'bullmq';
import { AnalysisResult, CoordinatorMessage, type ExecutionMessage } from '../src/contracts/messages.ts';
import { stamp } from '../src/contracts/envelope.ts';
import { aggregate, type Abstention, type AggregationPolicy, type Vote } from '../src/coordinator/aggregate.ts';
import { equity as equityOf } from '../src/core/ledger.ts';
import { baseOf, marketKey, quoteOf, type MarketRules } from '../src/core/market.ts';
import { clientOrderIdFor, type OrderIntent } from '../src/core/order.ts';
import { orderForTarget } from '../src/core/sizing.ts';
import type { Logger } from '../src/infra/logger.ts';
import { positionTarget, type PositionCapLimits } from '../src/risk/positionCap.ts';
import type { CandleStore } from '../src/store/candleStore.ts';
import type { DecisionStore, StoredDecision } from '../src/store/decisionStore.ts';
import type { LedgerStore, PendingOrder } from '../src/store/ledgerStore.ts';
import { Decimal } from 'decimal.js';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { QUEUE, jobId } from '../queues/names.ts';
import { parseJob } from './common.ts';

export interface CoordinatorDeps {
  decisions: DecisionStore;
  ledger: LedgerStore;
  candles: CandleStore;
  stats: StatsStore;
  queues: Queues;
  markets: Record<string, MarketRules>;
  policy: AggregationPolicy;
  limits: PositionCapLimits;
  execution: { slippageBps: number; feeRate?: string | undefined };
  account: string;
  /** Runs a critical section under the account's lock, shared by every process. */
  underAccountLock<T>(fn: () => Promise<T>): Promise<T>;
  log: Logger;
  now(): number;
}

export interface Decision extends StoredDecision {
  action: 'buy' | 'sell' | 'hold';
  confidence: number;
  agreement: number;
  consensus: string;
  votes: Vote[];
  abstentions: Abstention[];
  risk: { verdict: string; reason: string; equity?: string; targetValue?: string };
  order: { clientOrderId: string; side: 'buy' | 'sell'; amount: string } | null;
  decidedAt: number;
  /** Wall-clock ms from the feed seeing the candle to this decision. */
  latencyMs: number;
}

/**
 * Decides once per market and candle: aggregates the children's signals (a failed or missing
 * bot abstains), passes the consensus through the risk gate, sizes the order to the market's
 * rules, records the decision with every vote behind it, and hands the order to execution.
 */
export function coordinatorProcessor(deps: CoordinatorDeps) {
  return async (job: Job): Promise<{ action: string; order: string | null; duplicate: boolean }> => {
    const m = await parseJob(QUEUE.coordinator, CoordinatorMessage, job, deps.stats);
    const existing = (await deps.decisions.get(m.symbol, m.timeframe, m.candleTs)) as Decision | undefined;
    if (existing) {
      // A re-run (stalled job, manual retry): the decision stands; make sure its order was handed on.
      if (existing.order) await deps.queues.addExecution(executionMessage(deps, m, existing.order, existing.consensus));
      return { action: existing.action, order: existing.order?.clientOrderId ?? null, duplicate: true };
    }

    const { votes, abstentions } = await collectVotes(job, m);
    const consensus = aggregate(votes, deps.policy);
    const decision: Decision = {
      symbol: m.symbol,
      timeframe: m.timeframe,
      candleTs: m.candleTs,
      action: consensus.action,
      confidence: consensus.confidence,
      agreement: consensus.agreement,
      consensus: consensus.reason,
      votes,
      abstentions,
      risk: { verdict: 'none', reason: consensus.reason },
      order: null,
      decidedAt: deps.now(),
      latencyMs: Math.max(0, deps.now() - m.seenAt),
    };

    // Holds change nothing and need no lock. Anything that may trade sizes, records and marks its
    // order under one lock per account: cash and positions are shared by every market, so two
    // decisions must never size against the same state.
    const commit = async (): Promise<{ action: string; order: string | null; duplicate: boolean }> => {
      if (consensus.action !== 'hold') {
        const rules = deps.markets[m.symbol];
        // Unsettled orders first, then the account: an order settling in between is then seen as
        // pending (a skipped candle), never as neither pending nor in the position (a double order).
        const unsettled = await unsettledOrders(deps);
        const { state } = await deps.ledger.snapshot();
        const quote = quoteOf(m.symbol);
        const marks = await marksAt(deps, state.positions, m.timeframe, m.candleTs, quote);
        if (!rules) {
          decision.risk = { verdict: 'deny', reason: `no market rules for ${m.symbol}` };
        } else if (typeof marks === 'string') {
          decision.risk = { verdict: 'deny', reason: marks };
        } else {
          const equity = equityOf(state, quote, marks);
          const verdict = positionTarget(consensus, { equity }, deps.limits);
          const pending = unsettled.find((o) => o.intent.symbol === m.symbol);
          decision.risk = { ...verdict, equity };
          if (verdict.verdict === 'target' && pending) {
            // Sizing against a position that is about to change would double the order.
            decision.risk = { verdict: 'none', reason: `order ${pending.intent.clientOrderId} for ${m.symbol} is still pending`, equity };
          } else if (verdict.verdict === 'target') {
            const sized = orderForTarget({
              rules,
              currentAmount: state.positions[m.symbol]?.amount ?? '0',
              targetValue: verdict.targetValue,
              price: m.close,
              cash: freeCash(deps, state.cash[quote] ?? '0', quote, unsettled),
              slippageBps: deps.execution.slippageBps,
              feeRate: deps.execution.feeRate,
            });
            if ('skip' in sized) {
              decision.risk = { verdict: 'none', reason: sized.skip, equity, targetValue: verdict.targetValue };
            } else {
              const clientOrderId = clientOrderIdFor({ account: deps.account, symbol: m.symbol, timeframe: m.timeframe, decisionTs: m.candleTs, side: sized.side, purpose: 'consensus' });
              decision.order = { clientOrderId, side: sized.side, amount: sized.amount };
            }
          }
        }
        // The gate's name, not its free-text reason, names the counter: counters stay a fixed set.
        if (decision.risk.verdict === 'deny') await deps.stats.incr('denials.position-cap');
      }

      const first = await deps.decisions.recordOnce(decision);
      if (!first) {
        const winner = (await deps.decisions.get(m.symbol, m.timeframe, m.candleTs)) as Decision;
        if (winner.order) await deps.queues.addExecution(executionMessage(deps, m, winner.order, winner.consensus));
        return { action: winner.action, order: winner.order?.clientOrderId ?? null, duplicate: true };
      }
      if (decision.order) {
        const message = executionMessage(deps, m, decision.order, decision.consensus);
        await deps.ledger.markPending({ intent: message.intent, timeframe: m.timeframe, refPrice: m.close });
        await deps.queues.addExecution(message);
      }
      return { action: decision.action, order: decision.order?.clientOrderId ?? null, duplicate: false };
    };
    return consensus.action === 'hold' ? commit() : deps.underAccountLock(commit);
  };
}

async function collectVotes(job: Job, m: CoordinatorMessage): Promise<{ votes: Vote[]; abstentions: Abstention[] }> {
  const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
  const weights = new Map(m.instances.map((i) => [i.instanceId, i.weight]));
  const answered = new Set<string>();
  const votes: Vote[] = [];
  const abstentions: Abstention[] = [];
  for (const raw of Object.values(values)) {
    const parsed = AnalysisResult.safeParse(raw);
    if (!parsed.success) continue; // cannot attribute it; the instance shows up as missing below
    const r = parsed.data;
    if (!weights.has(r.instanceId) || answered.has(r.instanceId) || r.candleTs !== m.candleTs) continue;
    answered.add(r.instanceId);
    if (r.warmingUp) abstentions.push({ instanceId: r.instanceId, why: r.signal.reason });
    else votes.push({ instanceId: r.instanceId, botId: r.botId, weight: weights.get(r.instanceId)!, ...r.signal });
  }
  for (const [key, message] of Object.entries(failures)) {
    const instanceId = m.instances.find((i) => key.endsWith(`:${jobId.analysis(i.instanceId, marketKey(m.symbol), m.timeframe, m.candleTs)}`))?.instanceId;
    if (instanceId && !answered.has(instanceId)) {
      answered.add(instanceId);
      abstentions.push({ instanceId, why: `failed: ${message}` });
    }
  }
  for (const { instanceId } of m.instances) {
    if (!answered.has(instanceId)) abstentions.push({ instanceId, why: 'no answer' });
  }
  votes.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  abstentions.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  return { votes, abstentions };
}

/** Marks of held positions in `quote` as of the decision candle; a string says which mark is missing. */
async function marksAt(
  deps: CoordinatorDeps,
  positions: Record<string, { amount: string }>,
  timeframe: string,
  ts: number,
  quote: string,
): Promise<Record<string, string> | string> {
  const marks: Record<string, string> = {};
  for (const [symbol, position] of Object.entries(positions)) {
    if (quoteOf(symbol) !== quote || position.amount === '0') continue;
    const w = await deps.candles.window(symbol, timeframe, ts, 1);
    const close = w.length > 0 ? w.close[0]! : (await deps.candles.latest(symbol, timeframe))?.close;
    if (close === undefined) return `no price to value the ${baseOf(symbol)} position at ${ts}`;
    marks[symbol] = String(close);
  }
  return marks;
}

/** Orders decided earlier that have not filled or been refused yet (queued for execution or resting). */
async function unsettledOrders(deps: CoordinatorDeps): Promise<PendingOrder[]> {
  const unsettled: PendingOrder[] = [];
  for (const p of await deps.ledger.pendingOrders()) {
    const order = await deps.ledger.getOrder(p.intent.clientOrderId);
    if (order) {
      if (order.status === 'open') unsettled.push(p);
      continue;
    }
    // Not at the venue yet: pending while its execution job can still run.
    const job = await deps.queues.execution.getJob(p.intent.clientOrderId);
    if (job && !(await job.isFailed())) unsettled.push(p);
  }
  return unsettled;
}

/** Cash not promised to unsettled buys in the same quote currency (each at its sizing price, with slippage and fee). */
function freeCash(deps: CoordinatorDeps, cash: string, quote: string, unsettled: PendingOrder[]): string {
  let free = new Decimal(cash);
  for (const p of unsettled) {
    if (p.intent.side !== 'buy' || quoteOf(p.intent.symbol) !== quote) continue;
    const fee = new Decimal(deps.execution.feeRate ?? deps.markets[p.intent.symbol]?.taker ?? '0');
    const price = new Decimal(p.refPrice).mul(1 + deps.execution.slippageBps / 10_000);
    free = free.minus(new Decimal(p.intent.amount).mul(price).mul(fee.plus(1)));
  }
  return Decimal.max(free, 0).toFixed();
}

function executionMessage(deps: CoordinatorDeps, m: CoordinatorMessage, order: NonNullable<Decision['order']>, reason: string): ExecutionMessage {
  const intent: OrderIntent = { clientOrderId: order.clientOrderId, symbol: m.symbol, side: order.side, type: 'market', amount: order.amount, decisionTs: m.candleTs, reason };
  return { ...stamp('execution', 1, deps.now()), account: deps.account, intent, timeframe: m.timeframe, seenAt: m.seenAt };
}
