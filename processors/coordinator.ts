import { DelayedError, type Job, type Queue } from 'bullmq';
import { Decimal } from 'decimal.js';
import { AnalysisResult, CoordinatorMessage, type ExecutionMessage } from '../src/contracts/messages.ts';
import { stamp } from '../src/contracts/envelope.ts';
import { aggregate, byInstanceId, type Abstention, type AggregationPolicy, type Consensus, type Vote } from '../src/coordinator/aggregate.ts';
import { decide, intentOf, marketsToWatch, marksFrom, riskLookback, utcDay, type DecideSettings } from '../src/coordinator/decide.ts';
import { newDecision, type Decision, type DecisionOrder } from '../src/coordinator/decision.ts';
import { scoreVotes, type TrackRecord } from '../src/coordinator/trackRecord.ts';
import { candleAt, type CandleWindow } from '../src/core/candle.ts';
import { marketKey, quoteOf } from '../src/core/market.ts';
import type { UnsettledIntent } from '../src/core/order.ts';
import type { ExchangeGateway } from '../src/exchange/gateway.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { CandleStore } from '../src/store/candleStore.ts';
import type { DecisionStore } from '../src/store/decisionStore.ts';
import type { LedgerStore } from '../src/store/ledgerStore.ts';
import type { Fence } from '../src/store/lock.ts';
import type { PerformanceStore } from '../src/store/performanceStore.ts';
import type { RiskStore } from '../src/store/riskStore.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { QUEUE, jobId } from '../queues/names.ts';
import { decisionProgress, notifyFilled, parseJob } from './common.ts';

export type { Decision } from '../src/coordinator/decision.ts';

export interface CoordinatorDeps {
  decisions: DecisionStore;
  ledger: LedgerStore;
  candles: CandleStore;
  risk: RiskStore;
  stats: StatsStore;
  performance: PerformanceStore;
  queues: Queues;
  /**
   * A venue that fills from candles (paper): each candle's fills are applied by its decision, in
   * decision order, so the account evolves the same way however far ahead the feed runs.
   */
  gateway?: Pick<ExchangeGateway, 'onCandle'> | undefined;
  policyFor(symbol: string): AggregationPolicy;
  trackRecord: { horizonCandles: number; halfLife: number };
  /** The pure decision's settings for a timeframe (cooldowns and holding times are counted in its candles). */
  settingsFor(timeframe: string): DecideSettings;
  /** Candle counts of the risk settings that the pure engine takes in other units. */
  riskWindows: { atrPeriod: number; correlationLookback: number };
  account: string;
  /** Runs a critical section under a named Redis lock shared by every process. */
  lock<T>(name: string, fn: (fence: Fence) => Promise<T>): Promise<T>;
  log: Logger;
  now(): number;
}

type Outcome = { action: string; order: string | null; duplicate: boolean };

/** A deferred decision is woken by its predecessor; this is only the fallback if that wake-up is missed. */
const PREDECESSOR_RETRY_MS = 500;
/** How often a decision looks again for its market's order to reach the paper venue. */
const EXECUTION_POLL_MS = 20;

/** The decision that must come first: the replay's previous step, else the market's previous candle. */
function predecessorOf(m: CoordinatorMessage): { symbol: string; timeframe: string; ts: number } | null {
  if (m.prevStep) return m.prevStep;
  return m.prevTs === null ? null : { symbol: m.symbol, timeframe: m.timeframe, ts: m.prevTs };
}

/**
 * Decides once per market and candle. Applies the paper venue's fills for this candle, scores the
 * bots' earlier votes, aggregates this candle's signals (a failed or missing bot abstains), and
 * hands the rest to the pure decision (position monitor, risk gates, sizing); records the decision
 * with every vote behind it and hands the order to execution. Everything that could trade happens
 * under one lock per account, and the decision is written only while that lock is still held, so
 * no interleaving of processes can breach a cap.
 */
export function coordinatorProcessor(deps: CoordinatorDeps) {
  return async (job: Job, token?: string): Promise<Outcome> => {
    const m = await parseJob(QUEUE.coordinator, CoordinatorMessage, job, deps.stats);
    const existing = (await deps.decisions.get(m.symbol, m.timeframe, m.candleTs)) as Decision | undefined;
    if (existing) return rehandOrder(deps, m, existing);
    // Decisions are made in order (a replay's order across markets, else each market's candle
    // order): track records, positions and the account then evolve the same way whatever the
    // workers' timing. A decision whose predecessor is not made yet gives its slot back; the
    // predecessor wakes it when done (noted before checking, so the wake-up cannot be missed).
    const predecessor = predecessorOf(m);
    if (token !== undefined && predecessor) await deps.decisions.markWaiting(predecessor.symbol, predecessor.timeframe, predecessor.ts, { queue: QUEUE.coordinator, jobId: job.id! });
    if (token !== undefined && predecessor && (await decisionProgress(deps.queues, deps.decisions, predecessor)) === 'pending') {
      await deps.stats.incr('coordinator.deferred');
      return defer(job, token, PREDECESSOR_RETRY_MS);
    }
    if (deps.gateway?.onCandle) {
      // The order this market decided last must be at the venue before this candle can fill it.
      if (token !== undefined && (await orderStillQueued(deps, m.symbol))) {
        await deps.stats.incr('coordinator.waited-for-execution');
        return defer(job, token, EXECUTION_POLL_MS);
      }
      const w = await deps.candles.window(m.symbol, m.timeframe, m.candleTs, 1);
      if (w.length === 1 && w.ts[0] === m.candleTs) await notifyFilled(deps.queues, await deps.gateway.onCandle(m.symbol, m.timeframe, candleAt(w, 0), deps.now()), deps.now());
    }

    const { votes, abstentions } = await collectVotes(job, m);
    const records = (await scoreEarlierVotes(deps, m)) ?? (await deps.risk.trackRecords(m.symbol, m.timeframe));
    const consensus = aggregate(votes, deps.policyFor(m.symbol), records);
    const decision = newDecision(m, consensus, votes, abstentions, { decidedAt: deps.now(), latencyMs: Math.max(0, deps.now() - m.seenAt) });

    // A hold in a market not held changes nothing and needs no lock; anything else may trade.
    const held = (await deps.ledger.snapshot()).state.positions[m.symbol]?.amount ?? '0';
    if (consensus.action === 'hold' && new Decimal(held).isZero() && !(await deps.risk.watch(deps.account, m.symbol))) {
      return commit(deps, m, decision, undefined, undefined);
    }
    return deps.lock(`account:${deps.account}`, async (fence) => {
      const pending = await decideUnderLock(deps, m, decision, consensus, records);
      return commit(deps, m, decision, fence, pending);
    });
  };
}

async function defer(job: Job, token: string, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

/** Reads what the pure decision needs from Redis, decides, stores its memory; returns the order to reserve. */
async function decideUnderLock(
  deps: CoordinatorDeps,
  m: CoordinatorMessage,
  decision: Decision,
  consensus: Consensus,
  records: ReadonlyMap<string, TrackRecord>,
): Promise<UnsettledIntent | undefined> {
  // Unsettled orders first, then the account: an order settling in between is then seen as
  // pending (a skipped candle), never as neither pending nor in the position (a double order).
  const unsettled = await unsettledOrders(deps);
  const { state } = await deps.ledger.snapshot();
  const quote = quoteOf(m.symbol);
  const lookback = riskLookback(deps.riskWindows.atrPeriod, deps.riskWindows.correlationLookback);
  const window = await deps.candles.window(m.symbol, m.timeframe, m.candleTs, lookback);
  const otherWindows: Record<string, CandleWindow> = {};
  // Other markets as the replay had them when this candle came (the feed may already have stored
  // a later one): the same windows, and so the same marks, whatever the workers' timing.
  for (const symbol of marketsToWatch(m.symbol, state, unsettled)) otherWindows[symbol] = await deps.candles.window(symbol, m.timeframe, Math.min(m.asOf?.[symbol] ?? m.candleTs, m.candleTs), lookback);
  const lastClose = (symbol: string): number | undefined => {
    const w = symbol === m.symbol ? window : otherWindows[symbol];
    return w && w.length > 0 ? w.close[w.length - 1] : undefined;
  };
  const marks = marksFrom(state, quote, lastClose, m.candleTs);
  const [watch, tradingState, losses, memory] = await Promise.all([
    deps.risk.watch(deps.account, m.symbol),
    deps.risk.tradingState(),
    deps.risk.losses(deps.account),
    deps.risk.equityMemory(deps.account, quote, utcDay(m.candleTs)),
  ]);
  const outcome = decide(
    {
      symbol: m.symbol,
      timeframe: m.timeframe,
      candleTs: m.candleTs,
      close: m.close,
      consensus,
      records,
      account: state,
      unsettled,
      window,
      otherWindows,
      marks,
      watch,
      tradingState: tradingState.state,
      losses,
      peak: memory.peak,
      dayStart: memory.dayStart,
    },
    deps.settingsFor(m.timeframe),
  );
  await deps.risk.setWatch(deps.account, m.symbol, outcome.watch);
  if (outcome.equity) {
    await deps.risk.observeEquity(deps.account, outcome.equity.quote, outcome.equity.value, outcome.equity.day);
    await deps.performance.recordEquity(deps.account, outcome.equity.quote, m.candleTs, outcome.equity.value);
  }
  // The gate's name, not its free-text reason, names the counter: counters stay a fixed set.
  if (outcome.deniedBy) await deps.stats.incr(`denials.${outcome.deniedBy}`);
  Object.assign(decision, { action: outcome.action, exit: outcome.exit, risk: outcome.risk, order: outcome.order, inventory: outcome.inventory });
  return outcome.pending;
}

/** Records the decision (fenced, with its order reserved as pending, in one step) and hands the order on. */
async function commit(deps: CoordinatorDeps, m: CoordinatorMessage, decision: Decision, fence: Fence | undefined, pending: UnsettledIntent | undefined): Promise<Outcome> {
  const first = await deps.decisions.recordOnce(decision, { fence, pending: pending && deps.ledger.pendingEntry(pending) });
  if (!first) {
    const winner = (await deps.decisions.get(m.symbol, m.timeframe, m.candleTs)) as Decision;
    return rehandOrder(deps, m, winner);
  }
  // Everything the next decision reads is written before it is woken: the order handed to
  // execution (it waits for it to reach the venue) and the run of stop-outs (the losses gate).
  if (decision.order) await deps.queues.addExecution(executionMessage(deps, m, decision.order, decision.risk.reason));
  if (decision.exit && decision.order) {
    await deps.risk.recordExit(deps.account, decision.exit.stopOut, m.candleTs);
    await deps.stats.incr(`exits.${decision.exit.kind}`);
  }
  await deps.performance.recordDecision(deps.account, decision);
  await wakeSuccessor(deps, m);
  return { action: decision.action, order: decision.order?.clientOrderId ?? null, duplicate: false };
}

/** Promotes the jobs waiting for this decision: the next decision, analyses that need its inventory. */
async function wakeSuccessor(deps: CoordinatorDeps, m: CoordinatorMessage): Promise<void> {
  const waiters = await deps.decisions.takeWaiting(m.symbol, m.timeframe, m.candleTs);
  await Promise.all(waiters.map((w) => wake(w.queue === QUEUE.analysis ? deps.queues.analysis : deps.queues.coordinator, w.jobId)));
}

async function wake(queue: Queue, id: string): Promise<void> {
  const job = await queue.getJob(id);
  if (!job) return;
  // It may be a moment from moving itself to delayed; if it never gets there, it needed no wake-up.
  for (let i = 0; i < 50; i++) {
    const state = await job.getState();
    if (state === 'delayed') return job.promote().catch(() => undefined);
    if (state !== 'active') return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A re-run (stalled job, manual retry, lost race): the recorded decision stands; make sure its order was handed on. */
async function rehandOrder(deps: CoordinatorDeps, m: CoordinatorMessage, existing: Decision): Promise<Outcome> {
  if (existing.order) await deps.queues.addExecution(executionMessage(deps, m, existing.order, existing.risk?.reason ?? existing.consensus));
  await wakeSuccessor(deps, m);
  return { action: existing.action, order: existing.order?.clientOrderId ?? null, duplicate: true };
}

/**
 * Scores the votes of the decision `horizonCandles` before this one by what the market did since:
 * a buy earns the return, a sell its negative. Each earlier decision is scored exactly once.
 * Returns the market's records after scoring, or undefined when there was nothing to score.
 */
async function scoreEarlierVotes(deps: CoordinatorDeps, m: CoordinatorMessage): Promise<Map<string, TrackRecord> | undefined> {
  const h = deps.trackRecord.horizonCandles;
  const w = await deps.candles.window(m.symbol, m.timeframe, m.candleTs, h + 1);
  if (w.length < h + 1) return undefined;
  const [thenTs, thenClose] = [w.ts[0]!, w.close[0]!];
  if (await deps.risk.isScored(m.symbol, m.timeframe, thenTs)) return undefined;
  const earlier = (await deps.decisions.get(m.symbol, m.timeframe, thenTs)) as Decision | undefined;
  if (!earlier || !(thenClose > 0)) return undefined;
  const change = m.close / thenClose - 1;
  return deps.lock(`trackrecord:${marketKey(m.symbol)}:${m.timeframe}`, async () => {
    const records = await deps.risk.trackRecords(m.symbol, m.timeframe);
    const updated = scoreVotes(records, earlier.votes ?? [], change, thenTs, deps.trackRecord.halfLife);
    // Someone else scored it first: their records are the ones stored.
    if (!(await deps.risk.saveScored(m.symbol, m.timeframe, thenTs, updated))) return deps.risk.trackRecords(m.symbol, m.timeframe);
    await deps.performance.recordScores(earlier.votes ?? [], change);
    for (const [id, r] of updated) records.set(id, r);
    return records;
  });
}

async function collectVotes(job: Job, m: CoordinatorMessage): Promise<{ votes: Vote[]; abstentions: Abstention[] }> {
  const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
  const asked = new Map(m.instances.map((i) => [i.instanceId, i]));
  const answered = new Set<string>();
  const votes: Vote[] = [];
  const abstentions: Abstention[] = [];
  for (const raw of Object.values(values)) {
    const parsed = AnalysisResult.safeParse(raw);
    if (!parsed.success) continue; // cannot attribute it; the instance shows up as missing below
    const r = parsed.data;
    const instance = asked.get(r.instanceId);
    if (!instance || answered.has(r.instanceId) || r.candleTs !== m.candleTs) continue;
    answered.add(r.instanceId);
    if (r.warmingUp) abstentions.push({ instanceId: r.instanceId, why: r.signal.reason });
    else votes.push({ instanceId: r.instanceId, botId: r.botId, weight: instance.weight, family: instance.family, role: instance.role, ...r.signal });
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
  votes.sort(byInstanceId);
  abstentions.sort(byInstanceId);
  return { votes, abstentions };
}

/** Orders decided earlier that have not filled or been refused yet (queued for execution or resting). */
async function unsettledOrders(deps: CoordinatorDeps): Promise<UnsettledIntent[]> {
  const unsettled: UnsettledIntent[] = [];
  for (const p of await deps.ledger.pendingOrders()) {
    const order = await deps.ledger.getOrder(p.intent.clientOrderId);
    if (order) {
      if (order.status === 'open') unsettled.push(p);
      continue;
    }
    // Not at the venue yet: pending while its execution job can still run.
    // (A sliced intent has no order of its own: its job runs until every child has settled.)
    const job = await deps.queues.execution.getJob(p.intent.clientOrderId);
    if (job ? !(await job.isFailed()) && !(await job.isCompleted()) : await stillHandingOn(deps, p)) unsettled.push(p);
  }
  return unsettled;
}

/**
 * Whether the decision that reserved `p` is still running, and so may be a moment from adding its
 * execution job (it records the decision, then hands the order on): until it ends, a missing job
 * does not mean a missing order.
 */
async function stillHandingOn(deps: CoordinatorDeps, p: UnsettledIntent): Promise<boolean> {
  const decider = await deps.queues.coordinator.getJob(jobId.decision(marketKey(p.intent.symbol), p.timeframe, p.intent.decisionTs));
  if (!decider) return false;
  const state = await decider.getState();
  return state !== 'completed' && state !== 'failed' && state !== 'unknown';
}

/**
 * Whether the market's last decided order is still queued for execution, not yet at the venue.
 * (A sliced intent's parent has sent its children once it has stored its plan.)
 */
async function orderStillQueued(deps: CoordinatorDeps, symbol: string): Promise<boolean> {
  const pending = (await deps.ledger.pendingOrders()).find((p) => p.intent.symbol === symbol);
  if (!pending || (await deps.ledger.getOrder(pending.intent.clientOrderId))) return false;
  const job = await deps.queues.execution.getJob(pending.intent.clientOrderId);
  if (!job) return stillHandingOn(deps, pending);
  if ((job.data as Partial<ExecutionMessage>)?.algo) return false;
  const state = await job.getState();
  return state !== 'completed' && state !== 'failed' && state !== 'unknown';
}

function executionMessage(deps: CoordinatorDeps, m: CoordinatorMessage, order: DecisionOrder, reason: string): ExecutionMessage {
  return { ...stamp('execution', 1, deps.now()), account: deps.account, intent: intentOf(m.symbol, m.candleTs, order, reason), timeframe: m.timeframe, seenAt: m.seenAt, refPrice: m.close };
}
