import { Decimal } from 'decimal.js';
import { applyFill, type AccountState } from '../../core/ledger.ts';
import type { MarketRules } from '../../core/market.ts';
import { closeOrder, newOrderRecord, withFill, type Fill, type OrderIntent, type OrderRecord } from '../../core/order.ts';
import { TransientError } from '../../core/errors.ts';
import type { ExchangeGateway, PlaceResult } from '../gateway.ts';
import { VenueError } from './errorPolicy.ts';
import type { VenueClient, VenueOrder, VenueTrade } from './venueClient.ts';

/** An order whose create request may have reached the venue without its answer being recorded. */
export interface SendingOrder {
  intent: OrderIntent;
  timeframe: string;
  /** When its create request was last sent. */
  since: number;
}

/** The ledger as a real venue needs it (LedgerStore in src/store implements it). */
export interface VenueBook {
  insertIfAbsent(order: OrderRecord): Promise<{ inserted: boolean; order: OrderRecord }>;
  getOrder(clientOrderId: string): Promise<OrderRecord | undefined>;
  openOrders(): Promise<OrderRecord[]>;
  settle(clientOrderId: string, compute: (account: AccountState, order: OrderRecord) => { order: OrderRecord; account?: AccountState; fills?: Fill[] } | undefined): Promise<OrderRecord>;
  snapshot(): Promise<{ state: AccountState }>;
  markSending(entry: SendingOrder): Promise<void>;
  sendingOrder(clientOrderId: string): Promise<SendingOrder | undefined>;
  sendingOrders(): Promise<SendingOrder[]>;
  clearSending(clientOrderId: string): Promise<void>;
}

export interface CcxtGatewayOptions {
  /** Lookups by client order id after a create whose outcome is unknown. */
  lookupAttempts: number;
  lookupDelayMs: number;
  /**
   * A create is sent again only this long after the previous one: by then the venue refuses the
   * earlier request as stale (Binance's recvWindow), so a late arrival cannot make a second order.
   */
  resendAfterMs: number;
  /** True while the shared circuit breaker is open: nothing is sent. */
  breakerOpen(): Promise<boolean>;
  /** Timeframe recorded on orders found at the venue that the ledger did not know. */
  adoptTimeframe: string;
  sleep?: (ms: number) => Promise<void>;
}

/** The breaker is open: the order waits (it is not a failure of the order). */
export class BreakerOpenError extends TransientError {
  constructor(account: string) {
    super(`circuit breaker of ${account} is open: not sending`, 'breaker.open');
  }
}

/** An unknown-outcome create not found yet, too soon to send again. */
export class ResendTooSoonError extends TransientError {
  constructor(
    clientOrderId: string,
    readonly waitMs: number,
  ) {
    super(`order ${clientOrderId} may still reach the venue; not sending it again for ${Math.ceil(waitMs)} ms`, 'order.resend-too-soon');
  }
}

export interface ReconcileReport {
  /** Orders the ledger lacked or had only in the outbox, found at the venue and recorded. */
  adopted: string[];
  /** Open orders whose state was brought up to date. */
  refreshed: number;
  /** Outbox entries the venue never received, whose job is gone: cleared. */
  abandoned: string[];
  /** Open orders at the venue that Quorum did not place (not touched). */
  foreign: number;
  /** Where the ledger and the venue's balances differ. */
  drift: { currency: string; ledger: string; venue: string }[];
}

/** Quorum's client order ids: "qb-..." and "qs-..." (src/core/order.ts), children "...-c<n>". */
const OURS = /^q[bs]-[A-Za-z0-9_-]+$/;

/**
 * A real exchange through ccxt, never placing an order twice. Before a create is sent it is
 * written to an outbox; an order that already has a ledger record is never sent again; an outbox
 * entry left by an earlier attempt (timeout, lost response, a crash between send and record) is
 * looked up at the venue by client order id first; a create whose outcome is unknown is looked up
 * at once, and sent again only after the venue would refuse the first request as stale. Fills are
 * the venue's own trades, each applied to the ledger once (by trade id).
 */
export class CcxtGateway implements ExchangeGateway {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly account: string,
    private readonly client: VenueClient,
    private readonly book: VenueBook,
    private readonly markets: Record<string, MarketRules>,
    private readonly options: CcxtGatewayOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async placeOrder(intent: OrderIntent, timeframe: string, now: number): Promise<PlaceResult> {
    const id = intent.clientOrderId;
    const known = await this.book.getOrder(id);
    if (known) return { order: known.status === 'open' ? await this.refresh(known, now) : known, duplicate: true };
    if (!this.markets[intent.symbol]) return { order: await this.reject(intent, timeframe, `no market ${intent.symbol} on ${this.client.id}`, now), duplicate: false };
    if (await this.options.breakerOpen()) throw new BreakerOpenError(this.account);

    const sending = await this.book.sendingOrder(id);
    if (sending) {
      const found = await this.client.findOrder(intent.symbol, id);
      if (found) return { order: await this.adopt(intent, timeframe, found, now), duplicate: true, recovered: true };
      const wait = sending.since + this.options.resendAfterMs - now;
      if (wait > 0) throw new ResendTooSoonError(id, wait);
    }
    await this.book.markSending({ intent, timeframe, since: now });

    let created: VenueOrder;
    try {
      created = await this.client.createOrder(intent);
    } catch (error) {
      const e = VenueError.from(this.client.id, 'createOrder', error);
      if (e.policy.action === 'exists' || e.policy.outcomeUnknown) {
        const found = await this.lookUp(intent, e.policy.action === 'exists' ? Math.max(2, this.options.lookupAttempts) : this.options.lookupAttempts);
        if (found) return { order: await this.adopt(intent, timeframe, found, now), duplicate: e.policy.action === 'exists' };
        throw e;
      }
      if (e.policy.action === 'permanent') return { order: await this.reject(intent, timeframe, e.message, now), duplicate: false };
      throw e; // throttled, or transient but refused before processing: the outbox entry stays
    }
    return { order: await this.adopt(intent, timeframe, created, now), duplicate: false };
  }

  findOrder(clientOrderId: string): Promise<OrderRecord | undefined> {
    return this.book.getOrder(clientOrderId);
  }

  async cancelOrder(clientOrderId: string, reason: string, now: number): Promise<OrderRecord | undefined> {
    const order = await this.book.getOrder(clientOrderId);
    if (!order || order.status !== 'open') return order;
    try {
      await this.client.cancelOrder(order.intent.symbol, clientOrderId);
    } catch (error) {
      // Already filled or gone at the venue: the refresh below records what happened.
      if (!(error instanceof VenueError && error.ccxtClass === 'OrderNotFound')) throw error;
    }
    return this.refresh(order, now, reason);
  }

  /**
   * Brings the ledger in line with the venue: outbox entries found at the venue are recorded,
   * open orders refreshed (fills and final states), orders of ours the ledger never saw adopted,
   * and balances compared. `jobAlive` says whether an outbox entry's execution job may still run.
   */
  async reconcile(now: number, jobAlive: (clientOrderId: string) => Promise<boolean>): Promise<ReconcileReport> {
    const report: ReconcileReport = { adopted: [], refreshed: 0, abandoned: [], foreign: 0, drift: [] };
    for (const entry of await this.book.sendingOrders()) {
      const id = entry.intent.clientOrderId;
      if (await this.book.getOrder(id)) {
        await this.book.clearSending(id);
        continue;
      }
      const found = await this.client.findOrder(entry.intent.symbol, id);
      if (found) {
        await this.adopt(entry.intent, entry.timeframe, found, now);
        report.adopted.push(id);
      } else if (now - entry.since > this.options.resendAfterMs && !(await jobAlive(id))) {
        await this.book.clearSending(id);
        report.abandoned.push(id);
      }
    }
    for (const order of await this.book.openOrders()) {
      await this.refresh(order, now);
      report.refreshed++;
    }
    // Market by market: many exchanges require a symbol, and on Binance one request without one costs more than the whole burst of a small budget.
    const venueOpen = (await Promise.all(Object.keys(this.markets).sort().map((symbol) => this.client.openOrders(symbol)))).flat();
    for (const venueOrder of venueOpen) {
      const id = venueOrder.clientOrderId;
      if (!id || !OURS.test(id) || !this.markets[venueOrder.symbol]) {
        report.foreign++;
        continue;
      }
      if (await this.book.getOrder(id)) continue;
      await this.adopt(intentOf(venueOrder, id), this.options.adoptTimeframe, venueOrder, now);
      report.adopted.push(id);
    }
    report.drift = await this.drift();
    return report;
  }

  /** The account's balances at the venue, for currencies of the configured markets. */
  async venueBalances(): Promise<Record<string, string>> {
    const currencies = new Set(Object.values(this.markets).flatMap((m) => [m.base, m.quote]));
    const all = await this.client.balances();
    return Object.fromEntries([...currencies].sort().map((c) => [c, all[c] ?? '0']));
  }

  private async drift(): Promise<ReconcileReport['drift']> {
    const venue = await this.venueBalances();
    const { state } = await this.book.snapshot();
    const out: ReconcileReport['drift'] = [];
    for (const [currency, amount] of Object.entries(venue)) {
      const held = Object.values(state.positions).find((p) => p.symbol.split('/')[0] === currency)?.amount;
      const ledger = new Decimal(state.cash[currency] ?? '0').plus(held ?? '0');
      if (!ledger.eq(amount)) out.push({ currency, ledger: ledger.toFixed(), venue: amount });
    }
    return out;
  }

  private async lookUp(intent: OrderIntent, attempts: number): Promise<VenueOrder | undefined> {
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await this.sleep(this.options.lookupDelayMs);
      try {
        const found = await this.client.findOrder(intent.symbol, intent.clientOrderId);
        if (found) return found;
      } catch (error) {
        if (!(error instanceof VenueError) || error.policy.action === 'permanent') throw error;
        // A lookup that itself failed proves nothing: try again, then leave it to the next attempt.
      }
    }
    return undefined;
  }

  /** Records an order the venue has (created now, or found by its client order id) and its fills. */
  private async adopt(intent: OrderIntent, timeframe: string, venueOrder: VenueOrder, now: number): Promise<OrderRecord> {
    const { order } = await this.book.insertIfAbsent({ ...newOrderRecord(intent, timeframe, now), venueOrderId: venueOrder.id, venueTradeIds: [] });
    await this.book.clearSending(intent.clientOrderId);
    return this.apply(order, venueOrder, now);
  }

  private async refresh(order: OrderRecord, now: number, cancelReason?: string): Promise<OrderRecord> {
    const venueOrder = await this.client.findOrder(order.intent.symbol, order.intent.clientOrderId);
    return venueOrder ? this.apply(order, venueOrder, now, cancelReason) : order;
  }

  /** Applies the venue's new trades of the order (each once) and, when it is over there, its final state. */
  private async apply(order: OrderRecord, venueOrder: VenueOrder, now: number, cancelReason?: string): Promise<OrderRecord> {
    const rules = this.markets[order.intent.symbol]!;
    const trades = new Decimal(venueOrder.filled).gt(order.filledAmount) ? await this.client.orderTrades(order.intent.symbol, venueOrder.id) : [];
    trades.sort((a, b) => a.timestamp - b.timestamp || a.id.localeCompare(b.id));
    return this.book.settle(order.intent.clientOrderId, (account, current) => {
      const seen = new Set(current.venueTradeIds ?? []);
      let next: OrderRecord = { ...current, venueOrderId: venueOrder.id };
      let state = account;
      const fills: Fill[] = [];
      for (const trade of trades) {
        if (seen.has(trade.id) || new Decimal(trade.amount).gt(next.remaining)) continue;
        const fill = fillOf(current.intent, trade);
        state = applyFill(state, fill, rules);
        next = { ...withFill(next, fill, now), venueTradeIds: [...(next.venueTradeIds ?? []), trade.id] };
        fills.push(fill);
      }
      const allFillsIn = new Decimal(next.filledAmount).gte(venueOrder.filled);
      if (next.status === 'open' && venueOrder.status !== 'open' && allFillsIn) {
        next = venueOrder.status === 'rejected'
          ? closeOrder(next, 'rejected', `rejected by ${this.client.id}`, now)
          : new Decimal(next.remaining).isZero()
            ? next
            : closeOrder(next, 'cancelled', cancelReason ?? `${venueOrder.status} at ${this.client.id}`, now);
      }
      if (fills.length === 0 && next.status === current.status && next.venueOrderId === current.venueOrderId) return undefined;
      return fills.length > 0 ? { order: next, account: state, fills } : { order: next };
    });
  }

  private async reject(intent: OrderIntent, timeframe: string, reason: string, now: number): Promise<OrderRecord> {
    const { order } = await this.book.insertIfAbsent(newOrderRecord(intent, timeframe, now));
    await this.book.clearSending(intent.clientOrderId);
    return this.book.settle(intent.clientOrderId, (_account, current) => ({ order: closeOrder(current, 'rejected', reason, now) }));
  }
}

function fillOf(intent: OrderIntent, trade: VenueTrade): Fill {
  return {
    clientOrderId: intent.clientOrderId,
    symbol: intent.symbol,
    side: intent.side,
    amount: trade.amount,
    price: trade.price,
    fee: trade.fee,
    feeCurrency: trade.feeCurrency ?? intent.symbol.split('/')[1]!,
    ts: trade.timestamp,
    ...(trade.cost !== undefined ? { cost: trade.cost } : {}),
  };
}

/** The intent behind an order of ours that only the venue remembers. */
function intentOf(o: VenueOrder, clientOrderId: string): OrderIntent {
  const common = { clientOrderId, symbol: o.symbol, side: o.side, amount: o.amount, decisionTs: o.timestamp, reason: 'found at the venue by reconciliation' };
  return o.type === 'limit' && o.price !== undefined ? { ...common, type: 'limit', price: o.price } : { ...common, type: 'market' };
}
