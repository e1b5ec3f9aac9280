import { DelayedError, type Job } from 'bullmq';
import { Decimal } from 'decimal.js';
import { AnalysisResult, CoordinatorMessage, type ExecutionMessage } from '../src/contracts/messages.ts';
import { stamp } from '../src/contracts/envelope.ts';
import { aggregate, type Abstention, type AggregationPolicy, type Consensus, type Vote } from '../src/coordinator/aggregate.ts';
import { ensembleEdge, scoreVote, type TrackRecord } from '../src/coordinator/trackRecord.ts';
import { equity as equityOf } from '../src/core/ledger.ts';
import { baseOf, marketKey, quoteOf, type MarketRules } from '../src/core/market.ts';
import { clientOrderIdFor, type OrderIntent } from '../src/core/order.ts';
import { timeframeMs } from '../src/core/timeframe.ts';
import { roundPrice, toPlain } from '../src/core/precision.ts';
import type { Logger } from '../src/infra/logger.ts';
import { evaluateEntry, evaluateReduction, type GateNote, type RiskLimits, type RiskOutcome } from '../src/risk/engine.ts';
import { checkExit, watchPosition, type ExitRules, type ExitSignal } from '../src/risk/exits.ts';
import { holdingsIn, seriesOf } from '../src/risk/portfolio.ts';
import { averageTrueRange, type CloseSeries } from '../src/risk/returns.ts';
import type { RiskFigures } from '../src/risk/valueAtRisk.ts';
import type { CandleStore } from '../src/store/candleStore.ts';
import type { DecisionStore, StoredDecision } from '../src/store/decisionStore.ts';
import type { LedgerStore, PendingOrder } from '../src/store/ledgerStore.ts';
import type { Fence } from '../src/store/lock.ts';
import type { RiskStore } from '../src/store/riskStore.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { QUEUE, jobId } from '../queues/names.ts';
import { parseJob } from './common.ts';

export interface CoordinatorDeps {
  decisions: DecisionStore;
  ledger: LedgerStore;
  candles: CandleStore;
  risk: RiskStore;
  stats: StatsStore;
  queues: Queues;
  markets: Record<string, MarketRules>;
  policyFor(symbol: string): AggregationPolicy;
  trackRecord: { horizonCandles: number; halfLife: number };
  /** The risk engine's limits for a timeframe (cooldowns are counted in its candles). */
  limitsFor(timeframe: string): RiskLimits;
  /** Candle counts of the risk settings that the pure engine takes in other units. */
  riskWindows: { atrPeriod: number; correlationLookback: number; cooldownCandles: number };
  exits: Omit<ExitRules, 'maxHoldMs'> & { maxHoldCandles: number };
  /** Candles a limit order may rest before the venue cancels what is unfilled. */
  limitOrderCandles: number;
  execution: { slippageBps: number; feeRate?: string | undefined };
  account: string;
  /** Runs a critical section under a named Redis lock shared by every process. */
  lock<T>(name: string, fn: (fence: Fence) => Promise<T>): Promise<T>;
  log: Logger;
  now(): number;
}

export interface DecisionRisk {
  verdict: 'order' | 'deny' | 'none';
  /** The gate that decided (deny, none) or the last one passed. */
  gate?: string;
  reason: string;
  trail?: GateNote[];
  figures?: RiskFigures | null;
  equity?: string;
  targetValue?: string;
}

export interface Decision extends StoredDecision {
  action: 'buy' | 'sell' | 'hold';
  confidence: number;
  agreement: number;
  consensus: string;
  regime: string | null;
  vetoes: Consensus['vetoes'];
  /** Every valid answer, with the weight it was counted with (0 for veto and regime bots). */
  votes: Array<Vote & { effectiveWeight: number }>;
  abstentions: Abstention[];
  /** The position monitor's exit, when one fired: it overrides the consensus. */
  exit: ExitSignal | null;
  risk: DecisionRisk;
  order: {
    clientOrderId: string;
    side: 'buy' | 'sell';
    amount: string;
    purpose: 'consensus' | 'exit';
    /** Set for a limit order (on the market's tick), with how long it may rest. */
    limit?: { price: string; expiresAfterMs: number } | undefined;
  } | null;
  decidedAt: number;
  /** Wall-clock ms from the feed seeing the candle to this decision. */
  latencyMs: number;
}

type Outcome = { action: string; order: string | null; duplicate: boolean };

/** A deferred decision is woken by its predecessor; this is only the fallback if that wake-up is missed. */
const PREDECESSOR_RETRY_MS = 500;
/** Whether the previous candle's decision is still to come (its job exists and has not ended). */
async function predecessorPending(deps: CoordinatorDeps, m: CoordinatorMessage): Promise<boolean> {
  if (m.prevTs === null || (await deps.decisions.get(m.symbol, m.timeframe, m.prevTs))) return false;
  const previous = await deps.queues.coordinator.getJob(jobId.decision(marketKey(m.symbol), m.timeframe, m.prevTs));
  if (!previous) return false;
  const state = await previous.getState();
  return state !== 'failed' && state !== 'completed' && state !== 'unknown';
}

/**
 * Decides once per market and candle. Scores the bots' earlier votes, aggregates this candle's
 * signals (a failed or missing bot abstains), runs the position monitor, passes an entry through
 * the risk engine's gates, records the decision with every vote behind it, and hands the order to
 * execution. Everything that could trade happens under one lock per account, and the decision is
 * written only while that lock is still held, so no interleaving of processes can breach a cap.
 */
export function coordinatorProcessor(deps: CoordinatorDeps) {
  const tfMs = (tf: string) => timeframeMs(tf);
  return async (job: Job, token?: string): Promise<Outcome> => {
    const m = await parseJob(QUEUE.coordinator, CoordinatorMessage, job, deps.stats);
    const existing = (await deps.decisions.get(m.symbol, m.timeframe, m.candleTs)) as Decision | undefined;
    if (existing) return rehandOrder(deps, m, existing);
    // A market's decisions are made in candle order: track records, positions and the monitor
    // then evolve the same way whatever the workers' timing. A decision whose predecessor is not
    // made yet gives its slot back; the predecessor wakes it when done (noted before checking,
    // so the wake-up cannot be missed between the check and the note).
    if (token !== undefined && m.prevTs !== null) await deps.decisions.markWaiting(m.symbol, m.timeframe, m.prevTs, job.id!);
    if (token !== undefined && (await predecessorPending(deps, m))) {
      await deps.stats.incr('coordinator.deferred');
      await job.moveToDelayed(Date.now() + PREDECESSOR_RETRY_MS, token);
      throw new DelayedError();
    }

    const { votes, abstentions } = await collectVotes(job, m);
    const records = (await scoreEarlierVotes(deps, m)) ?? (await deps.risk.trackRecords(m.symbol, m.timeframe));
    const consensus = aggregate(votes, deps.policyFor(m.symbol), records);
    const weightOf = new Map(consensus.counted.map((v) => [v.instanceId, v.effectiveWeight]));
    const decision: Decision = {
      symbol: m.symbol,
      timeframe: m.timeframe,
      candleTs: m.candleTs,
      action: consensus.action,
      confidence: consensus.confidence,
      agreement: consensus.agreement,
      consensus: consensus.reason,
      regime: consensus.regime,
      vetoes: consensus.vetoes,
      votes: votes.map((v) => ({ ...v, effectiveWeight: weightOf.get(v.instanceId) ?? 0 })),
      abstentions,
      exit: null,
      risk: { verdict: 'none', reason: consensus.reason },
      order: null,
      decidedAt: deps.now(),
      latencyMs: Math.max(0, deps.now() - m.seenAt),
    };

    // A hold in a market not held changes nothing and needs no lock; anything else may trade.
    const held = (await deps.ledger.snapshot()).state.positions[m.symbol]?.amount ?? '0';
    if (consensus.action === 'hold' && new Decimal(held).isZero() && !(await deps.risk.watch(deps.account, m.symbol))) {
      return commit(deps, m, decision, undefined, undefined);
    }
    return deps.lock(`account:${deps.account}`, async (fence) => {
      const pending = await decideUnderLock(deps, m, decision, consensus, records, tfMs(m.timeframe));
      return commit(deps, m, decision, fence, pending);
    });
  };
}

/** Fills in decision.risk, .exit and .order from the account as it is now; returns the order to reserve. */
async function decideUnderLock(
  deps: CoordinatorDeps,
  m: CoordinatorMessage,
  decision: Decision,
  consensus: Consensus,
  records: ReadonlyMap<string, TrackRecord>,
  candleMs: number,
): Promise<PendingOrder | undefined> {
  // Unsettled orders first, then the account: an order settling in between is then seen as
  // pending (a skipped candle), never as neither pending nor in the position (a double order).
  const unsettled = await unsettledOrders(deps);
  const { state } = await deps.ledger.snapshot();
  const rules = deps.markets[m.symbol];
  const lookback = Math.max(deps.riskWindows.atrPeriod, deps.riskWindows.correlationLookback) + 1;
  const window = await deps.candles.window(m.symbol, m.timeframe, m.candleTs, lookback);
  const atr = averageTrueRange(window.high, window.low, window.close, deps.riskWindows.atrPeriod);
  const position = state.positions[m.symbol];
  const amount = position?.amount ?? '0';
  const holding = new Decimal(amount).gt(0);

  // The position monitor: remember the position's high-water mark, and exit on a broken rule.
  let exit: ExitSignal | null = null;
  if (holding) {
    const watch = watchPosition(await deps.risk.watch(deps.account, m.symbol), Number(position!.avgPrice), m.candleTs, m.close, atr);
    await deps.risk.setWatch(deps.account, m.symbol, watch);
    exit = checkExit(watch, m.close, m.candleTs, { ...deps.exits, maxHoldMs: deps.exits.maxHoldCandles * candleMs });
  } else {
    await deps.risk.setWatch(deps.account, m.symbol, undefined);
  }
  decision.exit = exit;

  const pending = unsettled.find((o) => o.intent.symbol === m.symbol);
  const quote = quoteOf(m.symbol);
  const marks = await marksAt(deps, state.positions, m.timeframe, m.candleTs, quote);
  if (typeof marks === 'string') {
    decision.risk = { verdict: 'deny', gate: 'market-rules', reason: marks };
    return undefined;
  }
  const equity = equityOf(state, quote, marks);
  const { peak, dayStart } = await deps.risk.observeEquity(deps.account, quote, Number(equity), utcDay(m.candleTs));

  let outcome: RiskOutcome;
  let purpose: 'consensus' | 'exit' = 'consensus';
  // When the bots asked for a limit price, the order rests at it (on the tick, never worse than
  // asked) and is sized at it; exits are always market orders.
  const limit = !exit && consensus.limitPrice !== null && rules ? limitFor(consensus.action === 'buy' ? 'buy' : 'sell', consensus.limitPrice, rules, deps.limitOrderCandles * candleMs) : undefined;
  const base = { symbol: m.symbol, rules, currentAmount: amount, price: limit ? Number(limit.price) : m.close, execution: deps.execution };
  if (pending) {
    // Sizing against a position that is about to change would double the order.
    decision.risk = { verdict: 'none', reason: `order ${pending.intent.clientOrderId} for ${m.symbol} is still pending`, equity };
    return undefined;
  } else if (exit) {
    outcome = evaluateReduction(base);
    purpose = 'exit';
  } else if (consensus.action === 'sell' && holding) {
    outcome = evaluateReduction(base);
  } else if (consensus.action === 'buy') {
    const holdings = holdingsIn(quote, state, marks, unsettled);
    const closes: Record<string, CloseSeries> = { [m.symbol]: seriesOf(window) };
    for (const h of holdings) {
      if (!(h.symbol in closes)) closes[h.symbol] = seriesOf(await deps.candles.window(h.symbol, m.timeframe, m.candleTs, lookback));
    }
    const [tradingState, losses] = await Promise.all([deps.risk.tradingState(), deps.risk.losses(deps.account)]);
    const buyers = consensus.counted.filter((v) => v.action === 'buy');
    outcome = evaluateEntry(
      {
        ...base,
        now: m.candleTs,
        tradingState: tradingState.state,
        equity: Number(equity),
        peakEquity: peak,
        dayStartEquity: dayStart,
        holdings,
        freeCash: freeCash(deps, state.cash[quote] ?? '0', quote, unsettled),
        edge: ensembleEdge(buyers.map((v) => ({ weight: v.effectiveWeight, confidence: v.confidence, record: records.get(v.instanceId) }))),
        atr,
        closes,
        losses,
      },
      deps.limitsFor(m.timeframe),
    );
  } else {
    decision.risk = { verdict: 'none', reason: consensus.action === 'sell' ? `${consensus.reason}; nothing held to sell` : consensus.reason, equity };
    return undefined;
  }

  decision.risk = {
    verdict: outcome.verdict,
    gate: outcome.verdict === 'order' ? undefined : outcome.gate,
    reason: outcome.verdict === 'order' ? (exit?.reason ?? consensus.reason) : outcome.reason,
    trail: outcome.trail,
    figures: outcome.figures ?? null,
    equity,
    targetValue: outcome.verdict === 'order' ? outcome.targetValue : undefined,
  };
  // The gate's name, not its free-text reason, names the counter: counters stay a fixed set.
  if (outcome.verdict === 'deny') await deps.stats.incr(`denials.${outcome.gate}`);
  if (outcome.verdict !== 'order') return undefined;

  const clientOrderId = clientOrderIdFor({ account: deps.account, symbol: m.symbol, timeframe: m.timeframe, decisionTs: m.candleTs, side: outcome.side, purpose: limit ? `limit-${purpose}` : purpose });
  decision.order = { clientOrderId, side: outcome.side, amount: outcome.amount, purpose, limit };
  if (exit) decision.action = 'sell';
  return { intent: intentOf(m, decision.order, decision.risk.reason), timeframe: m.timeframe, refPrice: m.close };
}

/** Records the decision (fenced, with its order reserved as pending, in one step) and hands the order on. */
async function commit(deps: CoordinatorDeps, m: CoordinatorMessage, decision: Decision, fence: Fence | undefined, pending: PendingOrder | undefined): Promise<Outcome> {
  const first = await deps.decisions.recordOnce(decision, { fence, pending: pending && deps.ledger.pendingEntry(pending) });
  await wakeSuccessor(deps, m);
  if (!first) {
    const winner = (await deps.decisions.get(m.symbol, m.timeframe, m.candleTs)) as Decision;
    return rehandOrder(deps, m, winner);
  }
  if (decision.exit && decision.order) {
    await deps.risk.recordExit(deps.account, decision.exit.stopOut, m.candleTs);
    await deps.stats.incr(`exits.${decision.exit.kind}`);
  }
  if (decision.order) await deps.queues.addExecution(executionMessage(deps, m, decision.order, decision.risk.reason));
  return { action: decision.action, order: decision.order?.clientOrderId ?? null, duplicate: false };
}

/** Promotes the next candle's decision if it is waiting for this one. */
async function wakeSuccessor(deps: CoordinatorDeps, m: CoordinatorMessage): Promise<void> {
  const id = await deps.decisions.takeWaiting(m.symbol, m.timeframe, m.candleTs);
  const successor = id ? await deps.queues.coordinator.getJob(id) : undefined;
  if (!successor) return;
  // It may be a moment from moving itself to delayed; if it never gets there, it needed no wake-up.
  for (let i = 0; i < 50; i++) {
    const state = await successor.getState();
    if (state === 'delayed') return successor.promote().catch(() => undefined);
    if (state !== 'active') return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A re-run (stalled job, manual retry, lost race): the recorded decision stands; make sure its order was handed on. */
async function rehandOrder(deps: CoordinatorDeps, m: CoordinatorMessage, existing: Decision): Promise<Outcome> {
  await wakeSuccessor(deps, m);
  if (existing.order) await deps.queues.addExecution(executionMessage(deps, m, existing.order, existing.risk?.reason ?? existing.consensus));
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
    const updated = new Map<string, TrackRecord>();
    for (const v of earlier.votes ?? []) {
      if (v.role !== 'vote' || v.action === 'hold') continue;
      updated.set(v.instanceId, scoreVote(records.get(v.instanceId), v.action === 'buy' ? change : -change, thenTs, deps.trackRecord.halfLife));
    }
    // Someone else scored it first: their records are the ones stored.
    if (!(await deps.risk.saveScored(m.symbol, m.timeframe, thenTs, updated))) return deps.risk.trackRecords(m.symbol, m.timeframe);
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
  votes.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  abstentions.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  return { votes, abstentions };
}

/** The UTC day of a candle, which the daily loss limit counts by (a replay follows candle time, not the wall clock). */
function utcDay(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
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
    if (quoteOf(symbol) !== quote || new Decimal(position.amount).isZero()) continue;
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
    // (A sliced intent has no order of its own: its job runs until every child has settled.)
    const job = await deps.queues.execution.getJob(p.intent.clientOrderId);
    if (job && !(await job.isFailed()) && !(await job.isCompleted())) unsettled.push(p);
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

function intentOf(m: CoordinatorMessage, order: NonNullable<Decision['order']>, reason: string): OrderIntent {
  const common = { clientOrderId: order.clientOrderId, symbol: m.symbol, side: order.side, amount: order.amount, decisionTs: m.candleTs, reason: reason.slice(0, 500) };
  return order.limit ? { ...common, type: 'limit', price: order.limit.price, expiresAfterMs: order.limit.expiresAfterMs } : { ...common, type: 'market' };
}

/** A limit price on the market's tick: a buy rounded down, a sell up (never worse than asked). */
function limitFor(side: 'buy' | 'sell', price: number, rules: MarketRules, expiresAfterMs: number): { price: string; expiresAfterMs: number } | undefined {
  const rounded = roundPrice(price, rules.precision.price, side === 'buy' ? 'down' : 'up');
  return rounded.gt(0) ? { price: toPlain(rounded), expiresAfterMs } : undefined;
}

function executionMessage(deps: CoordinatorDeps, m: CoordinatorMessage, order: NonNullable<Decision['order']>, reason: string): ExecutionMessage {
  return { ...stamp('execution', 1, deps.now()), account: deps.account, intent: intentOf(m, order, reason), timeframe: m.timeframe, seenAt: m.seenAt, refPrice: m.close };
}
