import { Decimal } from 'decimal.js';
import { applyFill, initialAccount, type AccountState } from '../../src/core/ledger.ts';
import { marketKey } from '../../src/core/market.ts';
import type { Fill, OrderRecord } from '../../src/core/order.ts';
import { mergeCandleFiles } from '../../src/feed/replay.ts';
import type { Context } from '../../src/main/context.ts';
import type { StoredDecision } from '../../src/store/decisionStore.ts';
import type { MockBinance } from '../mockExchange/mockBinance.ts';

// What must hold after any run, whatever was killed or cut on the way. Each check returns the
// list of violations (empty = holds), so that a chaos test or the soak can print them all.

export interface InvariantReport {
  /** Replayed candles that should have a decision. */
  candles: number;
  decisions: number;
  orders: number;
  fills: number;
  violations: string[];
}

/** The candles a run replayed (mergeCandleFiles' steps). */
export type ReplayedSteps = ReturnType<typeof mergeCandleFiles>['steps'];

const eq = (a: string | undefined, b: string | undefined) => new Decimal(a ?? '0').eq(b ?? '0');
const seriesKey = (d: { symbol: string; timeframe: string; candleTs: number }) => `${d.symbol} ${d.timeframe} ${d.candleTs}`;

/**
 * Every replayed candle decided exactly once: a decision key for each of the newest
 * `keepPerSeries` of its series (older keys are trimmed: those decisions are read from the log),
 * no more decision keys per series than that, the decision counter equal to the number of
 * candles, each candle at most once in the decision log (and, while the log has not been
 * trimmed, exactly once), and no decision for a candle that was not replayed.
 */
export async function checkDecisions(ctx: Context, violations: string[], replayed?: ReplayedSteps): Promise<{ candles: number; decisions: number; decided: StoredDecision[]; lastTs: Map<string, number> }> {
  const steps = replayed ?? mergeCandleFiles(ctx.replayFiles, { lastCandles: ctx.config.replay.lastCandles }).steps;
  const lastTs = new Map(steps.map((s) => [`${s.symbol} ${s.timeframe}`, s.candle.ts]));
  const expected = new Set(steps.map((s) => seriesKey({ symbol: s.symbol, timeframe: s.timeframe, candleTs: s.candle.ts })));
  const log = await ctx.decisions.all();
  const logged = new Map(log.map((d) => [seriesKey(d), d]));
  const keep = ctx.decisions.keepPerSeries;
  // How many later candles of its series each step has: the newest `keep` must still have their key.
  const later = new Map<string, number>();
  const newerThan = new Map<string, number>();
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    const series = `${s.symbol} ${s.timeframe}`;
    newerThan.set(seriesKey({ symbol: s.symbol, timeframe: s.timeframe, candleTs: s.candle.ts }), later.get(series) ?? 0);
    later.set(series, (later.get(series) ?? 0) + 1);
  }
  const decided: StoredDecision[] = [];
  const missing: string[] = [];
  const dropped: string[] = [];
  for (const s of steps) {
    const key = seriesKey({ symbol: s.symbol, timeframe: s.timeframe, candleTs: s.candle.ts });
    const d = await ctx.decisions.get(s.symbol, s.timeframe, s.candle.ts);
    if (!d && (newerThan.get(key) ?? 0) < keep) dropped.push(key);
    const found = d ?? logged.get(key);
    if (found) decided.push(found);
    else missing.push(key);
  }
  if (missing.length > 0) violations.push(`${missing.length} replayed candle(s) never decided, first: ${missing.slice(0, 3).join(', ')}`);
  if (dropped.length > 0) violations.push(`${dropped.length} decision key(s) gone although among the newest ${keep} of their series, first: ${dropped.slice(0, 3).join(', ')}`);
  for (const series of later.keys()) {
    const [symbol, timeframe] = series.split(' ') as [string, string];
    const indexed = await ctx.redis.zcard(ctx.keys.decisionIndex(marketKey(symbol), timeframe));
    if (indexed > keep) violations.push(`${series} keeps ${indexed} decisions by key, more than its cap of ${keep}`);
  }

  const counted = Number((await ctx.redis.hget(ctx.keys.counters, 'decisions')) ?? 0);
  if (counted !== expected.size) violations.push(`decision counter is ${counted}, ${expected.size} candles were replayed`);

  const seen = new Map<string, number>();
  for (const d of log) seen.set(seriesKey(d), (seen.get(seriesKey(d)) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`);
  if (twice.length > 0) violations.push(`decided more than once in the decision log: ${twice.slice(0, 5).join(', ')}`);
  const unexpected = [...seen.keys()].filter((k) => !expected.has(k));
  if (unexpected.length > 0) violations.push(`decisions for candles that were not replayed: ${unexpected.slice(0, 3).join(', ')}`);
  const logLength = await ctx.redis.xlen(ctx.keys.decisionLog);
  // The log is a capped stream: below its cap it must hold every decision.
  if (logLength < 10_000 && seen.size !== expected.size) violations.push(`decision log holds ${seen.size} distinct candles, ${expected.size} were replayed`);
  return { candles: expected.size, decisions: decided.length, decided, lastTs };
}

/**
 * No order placed twice, in the ledger's own terms: every order's fills add up to its filled
 * amount and count, no fill is recorded twice, the order counter equals the orders stored, every
 * order comes from a recorded decision on the same side, at most one intent per decision, and
 * nothing is left in the outbox or pending once the run is over.
 */
export async function checkOrders(ctx: Context, decided: readonly StoredDecision[], violations: string[]): Promise<{ orders: OrderRecord[]; fills: Fill[] }> {
  const orders = await ctx.ledger.orders();
  const fills = await ctx.ledger.fills();
  const counted = Number((await ctx.redis.hget(ctx.keys.counters, 'orders')) ?? 0);
  if (counted !== orders.length) violations.push(`order counter is ${counted}, the ledger holds ${orders.length} orders`);

  const fillKeys = new Set<string>();
  for (const f of fills) {
    const key = JSON.stringify(f);
    if (fillKeys.has(key)) violations.push(`fill recorded twice: ${f.clientOrderId} ${f.amount} @ ${f.price} at ${f.ts}`);
    fillKeys.add(key);
  }
  const byDecision = new Map<string, Set<string>>();
  const decisions = new Map(decided.map((d) => [seriesKey(d), d]));
  for (const o of orders) {
    const id = o.intent.clientOrderId;
    const own = fills.filter((f) => f.clientOrderId === id);
    const sum = own.reduce((s, f) => s.plus(f.amount), new Decimal(0));
    if (!sum.eq(o.filledAmount)) violations.push(`order ${id}: fills add up to ${sum.toFixed()}, the order says ${o.filledAmount} filled`);
    if (own.length !== o.fillCount) violations.push(`order ${id}: ${own.length} fills recorded, the order counts ${o.fillCount}`);
    if (!new Decimal(o.filledAmount).plus(o.remaining).eq(o.intent.amount)) violations.push(`order ${id}: filled ${o.filledAmount} + remaining ${o.remaining} ≠ amount ${o.intent.amount}`);
    const decision = decisions.get(seriesKey({ symbol: o.intent.symbol, timeframe: o.timeframe, candleTs: o.intent.decisionTs }));
    if (!decision) violations.push(`order ${id} has no recorded decision at ${o.intent.symbol} ${o.timeframe} ${o.intent.decisionTs}`);
    else if (decision.action !== o.intent.side) violations.push(`order ${id} is a ${o.intent.side}, its decision was ${decision.action}`);
    // TWAP/iceberg children (-c<n>-) share their parent's decision; any other order is one per decision.
    const parent = id.replace(/-c\d+-[^-]+$/, '');
    const key = seriesKey({ symbol: o.intent.symbol, timeframe: o.timeframe, candleTs: o.intent.decisionTs });
    byDecision.set(key, (byDecision.get(key) ?? new Set()).add(parent));
  }
  for (const [key, parents] of byDecision) if (parents.size > 1) violations.push(`decision ${key} led to ${parents.size} different orders: ${[...parents].join(', ')}`);
  const sending = await ctx.ledger.sendingOrders();
  if (sending.length > 0) violations.push(`${sending.length} order(s) still in the outbox: ${sending.map((s) => s.intent.clientOrderId).join(', ')}`);
  return { orders, fills };
}

/** Paper venue: the account is the initial balances with every recorded fill applied once, in order. */
export async function checkPaperLedger(ctx: Context, fills: readonly Fill[], violations: string[]): Promise<void> {
  let replayed: AccountState = initialAccount(ctx.config.paper.balances);
  for (const f of fills) {
    const rules = ctx.markets[f.symbol];
    if (!rules) {
      violations.push(`fill ${f.clientOrderId} is for ${f.symbol}, which has no market rules`);
      return;
    }
    replayed = applyFill(replayed, f, rules);
  }
  const { state } = await ctx.ledger.snapshot();
  for (const c of new Set([...Object.keys(state.cash), ...Object.keys(replayed.cash)])) {
    if (!eq(state.cash[c], replayed.cash[c])) violations.push(`cash ${c} is ${state.cash[c]}, initial balances + fills give ${replayed.cash[c]}`);
  }
  for (const s of new Set([...Object.keys(state.positions), ...Object.keys(replayed.positions)])) {
    if (!eq(state.positions[s]?.amount, replayed.positions[s]?.amount)) violations.push(`position ${s} is ${state.positions[s]?.amount}, fills give ${replayed.positions[s]?.amount}`);
  }
}

/**
 * A ccxt venue (the mock exchange): each of our client order ids placed at most once there, each
 * ledger order is the exchange's order with the same fills (amount and fee), the exchange has no
 * order of ours the ledger lacks, and what the ledger holds of each currency (cash, and positions
 * in markets whose base it is) equals the exchange's balance.
 */
export async function checkVenueLedger(ctx: Context, mock: MockBinance, violations: string[], options: { idPrefix?: string; currencies?: string[] } = {}): Promise<void> {
  const idPrefix = options.idPrefix ?? 'qb-';
  const venueOrders = mock.orders().filter((o) => o.clientOrderId.startsWith(idPrefix));
  const count = new Map<string, number>();
  for (const o of venueOrders) count.set(o.clientOrderId, (count.get(o.clientOrderId) ?? 0) + 1);
  for (const [id, n] of count) if (n > 1) violations.push(`order ${id} placed ${n} times at the exchange`);

  const ledgerOrders = new Map((await ctx.ledger.orders()).map((o) => [o.intent.clientOrderId, o]));
  const fills = await ctx.ledger.fills();
  const trades = mock.trades();
  for (const v of venueOrders) {
    const o = ledgerOrders.get(v.clientOrderId);
    if (!o) {
      violations.push(`the exchange has order ${v.clientOrderId}, the ledger does not`);
      continue;
    }
    if (o.venueOrderId !== String(v.orderId)) violations.push(`order ${v.clientOrderId}: ledger venue id ${o.venueOrderId}, exchange ${v.orderId}`);
    const own = fills.filter((f) => f.clientOrderId === v.clientOrderId);
    const theirs = trades.filter((t) => t.orderId === v.orderId);
    const sum = (xs: unknown[]) => xs.reduce<Decimal>((s, x) => s.plus(String(x)), new Decimal(0));
    if (own.length !== theirs.length) violations.push(`order ${v.clientOrderId}: ${own.length} fills in the ledger, ${theirs.length} trades at the exchange`);
    if (!sum(own.map((f) => f.amount)).eq(sum(theirs.map((t) => t.qty)))) violations.push(`order ${v.clientOrderId}: ledger filled ${sum(own.map((f) => f.amount)).toFixed()}, exchange ${sum(theirs.map((t) => t.qty)).toFixed()}`);
    if (!sum(own.map((f) => f.fee)).eq(sum(theirs.map((t) => t.commission)))) violations.push(`order ${v.clientOrderId}: ledger fees ${sum(own.map((f) => f.fee)).toFixed()}, exchange ${sum(theirs.map((t) => t.commission)).toFixed()}`);
  }
  for (const [id, o] of ledgerOrders) {
    if (!id.startsWith(idPrefix) || count.has(id)) continue;
    // Refused by the exchange (no order there) is fine; anything else the ledger invented.
    if (o.status !== 'rejected') violations.push(`ledger order ${id} (${o.status}) does not exist at the exchange`);
  }
  const { state } = await ctx.ledger.snapshot();
  const balances = mock.balances();
  for (const c of options.currencies ?? Object.keys(balances)) {
    const b = balances[c];
    const total = b ? new Decimal(b.free).plus(b.locked).toFixed() : '0';
    // The ledger holds a currency as cash, and as the positions of markets whose base it is.
    const held = Object.values(state.positions)
      .filter((p) => p.symbol.split('/')[0] === c)
      .reduce((sum, p) => sum.plus(p.amount), new Decimal(state.cash[c] ?? '0'));
    if (!held.eq(total)) violations.push(`${c}: ledger ${held.toFixed()} (cash and positions), exchange ${total}`);
  }
}

/** Every check of a paper replay (decisions, orders, ledger); `replayed`: the candles replayed, if not the configured replay. */
export async function checkPaperRun(ctx: Context, replayed?: ReplayedSteps): Promise<InvariantReport> {
  const violations: string[] = [];
  const { candles, decisions, decided, lastTs } = await checkDecisions(ctx, violations, replayed);
  const { orders, fills } = await checkOrders(ctx, decided, violations);
  await checkPaperLedger(ctx, fills, violations);
  // The pending hash keeps each market's last order; it is unsettled while its order is missing or
  // open. A market order decided on a market's last replayed candle has no next candle to fill at
  // and stays unsettled; any other unsettled order was lost on the way.
  const stuck: typeof pendingEntries = [];
  const pendingEntries = await ctx.ledger.pendingOrders();
  for (const p of pendingEntries) {
    const order = await ctx.ledger.getOrder(p.intent.clientOrderId);
    if (order && order.status !== 'open') continue;
    if (lastTs.get(`${p.intent.symbol} ${p.timeframe}`) !== p.intent.decisionTs) stuck.push(p);
  }
  if (stuck.length > 0) violations.push(`${stuck.length} order(s) still pending after the run: ${stuck.map((p) => p.intent.clientOrderId).join(', ')}`);
  return { candles, decisions, orders: orders.length, fills: fills.length, violations };
}

/** The candle series of a market, for bounded-memory checks. */
export function candleSeriesKey(ctx: Context, symbol: string, timeframe: string): string {
  return ctx.keys.candles(marketKey(symbol), timeframe);
}
