import type { Redis } from 'ioredis';
import type { Candle } from '../core/candle.ts';
import { initialAccount, type AccountState } from '../core/ledger.ts';
import type { Fill, OrderIntent, OrderRecord, UnsettledIntent } from '../core/order.ts';
import { toDecimal, toPlain } from '../core/precision.ts';
import type { Keyspace } from '../infra/keys.ts';
import type { CandleStore } from './candleStore.ts';
import { Script } from './script.ts';

/** An order as stored: the venue's order record (src/core/order.ts). */
export type StoredOrder = OrderRecord;

/** An order decided and not settled yet (src/core/order.ts). */
export type PendingOrder = UnsettledIntent;

/** Structurally the ccxt gateway's SendingOrder (store does not import exchange). */
export interface SendingOrder {
  intent: OrderIntent;
  timeframe: string;
  since: number;
}

/** Inserts an order under its client order id unless one exists; indexes it as open. */
const INSERT_ORDER = new Script(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return redis.call('HGET', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'orders', 1)
return false
`);

/**
 * Compare-and-set of one order and, when fills change it, the account. Applies only if the order
 * is still open and exactly as it was read (so a fill computed from a stale order never lands, and
 * a limit order's partial fills apply one after another), and, when the account is written, only
 * if nobody changed the account since it was read. Counts an order once, when it leaves 'open'.
 * ARGV: account version, account state ('' = unchanged), order id, order as read, order, status,
 * then each new fill. Returns 1 applied, 0 order no longer open, -1 conflict (recompute).
 */
const SETTLE = new Script(`
local current = redis.call('HGET', KEYS[2], ARGV[3])
if not current or cjson.decode(current).status ~= 'open' then return 0 end
if current ~= ARGV[4] then return -1 end
if ARGV[2] ~= '' then
  local version = redis.call('HGET', KEYS[1], 'version') or '0'
  if version ~= ARGV[1] then return -1 end
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', tostring(tonumber(version) + 1))
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
if ARGV[6] ~= 'open' then
  redis.call('ZREM', KEYS[3], ARGV[3])
  redis.call('HINCRBY', KEYS[5], 'orders.' .. ARGV[6], 1)
end
for i = 7, #ARGV do
  redis.call('XADD', KEYS[4], '*', 'f', ARGV[i])
  redis.call('HINCRBY', KEYS[5], 'fills', 1)
end
return 1
`);

/** What one settlement writes; structurally the paper venue's Settlement (store does not import exchange). */
export interface OrderSettlement {
  order: StoredOrder;
  /** The account after `fills`; omitted when it did not change. */
  account?: AccountState | undefined;
  fills?: Fill[] | undefined;
}

/**
 * Reads a stored order. Orders written before partial fills existed carry no progress fields:
 * they were market orders, filled whole or not at all.
 */
function readOrder(raw: string): StoredOrder {
  const order = JSON.parse(raw) as StoredOrder;
  if (order.filledAmount !== undefined) return order;
  const fill = order.fill;
  return {
    ...order,
    filledAmount: fill?.amount ?? '0',
    remaining: fill ? '0' : order.intent.amount,
    filledCost: fill ? toPlain(toDecimal(fill.amount).times(toDecimal(fill.price))) : '0',
    avgPrice: fill?.price ?? '0',
    fillCount: fill ? 1 : 0,
  };
}

export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
}

/**
 * The account (cash, positions, P&L) and its orders in Redis. Every change goes through `settle`,
 * a compare-and-set, so fills from any number of processes apply exactly once and in some order.
 */
export class LedgerStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    readonly account: string,
    private readonly candles: CandleStore,
  ) {}

  /** Creates the account with its starting balances, once; later calls leave it as it is. */
  async ensureAccount(balances: Record<string, string>): Promise<void> {
    await this.redis
      .multi()
      .hsetnx(this.keys.ledger(this.account), 'state', JSON.stringify(initialAccount(balances)))
      .hsetnx(this.keys.ledger(this.account), 'version', '0')
      .exec();
  }

  async snapshot(): Promise<{ state: AccountState; version: string }> {
    const [state, version] = await this.redis.hmget(this.keys.ledger(this.account), 'state', 'version');
    if (state === null || state === undefined) throw new Error(`ledger of account "${this.account}" is not initialised`);
    return { state: JSON.parse(state) as AccountState, version: version ?? '0' };
  }

  async insertIfAbsent(order: StoredOrder): Promise<{ inserted: boolean; order: StoredOrder }> {
    const existing = await INSERT_ORDER.run(
      this.redis,
      [this.keys.orders(this.account), this.keys.openOrders(this.account), this.keys.counters],
      [order.intent.clientOrderId, JSON.stringify(order), order.intent.decisionTs],
    );
    return existing === null ? { inserted: true, order } : { inserted: false, order: readOrder(existing as string) };
  }

  async getOrder(clientOrderId: string): Promise<StoredOrder | undefined> {
    const raw = await this.redis.hget(this.keys.orders(this.account), clientOrderId);
    return raw === null ? undefined : readOrder(raw);
  }

  async orders(): Promise<StoredOrder[]> {
    const all = await this.redis.hvals(this.keys.orders(this.account));
    return all.map(readOrder);
  }


  /** Every open order of the account. */
  async openOrders(): Promise<StoredOrder[]>;
  /** Open orders of one market and timeframe decided before `before`: the ones a new candle can fill. */
  async openOrders(symbol: string, timeframe: string, before: number): Promise<StoredOrder[]>;
  async openOrders(symbol?: string, timeframe?: string, before?: number): Promise<StoredOrder[]> {
    const ids = await this.redis.zrangebyscore(this.keys.openOrders(this.account), '-inf', before === undefined ? '+inf' : `(${before}`);
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.keys.orders(this.account), ...ids);
    return raws
      .filter((r): r is string => r !== null)
      .map(readOrder)
      .filter((o) => o.status === 'open' && (symbol === undefined || (o.intent.symbol === symbol && o.timeframe === timeframe)));
  }

  /**
   * Orders decided but not yet settled, by market: the coordinator marks one when it decides, so
   * that the next candle's decision neither repeats it nor spends the cash it will use, even while
   * the order is still queued for execution.
   */
  async markPending(pending: PendingOrder): Promise<void> {
    const { key, field, value } = this.pendingEntry(pending);
    await this.redis.hset(key, field, value);
  }

  /** Where markPending writes, for a caller that writes it atomically with something else. */
  pendingEntry(pending: PendingOrder): { key: string; field: string; value: string } {
    return { key: this.keys.pending(this.account), field: pending.intent.symbol, value: JSON.stringify(pending) };
  }

  /**
   * The write-ahead outbox of a real venue: an order is marked here before its create request is
   * sent, and cleared once the venue's answer is recorded. An entry left behind (a crash, a lost
   * response) means "this order may exist at the venue": look it up before sending it again.
   */
  async markSending(entry: SendingOrder): Promise<void> {
    await this.redis.hset(this.keys.sending(this.account), entry.intent.clientOrderId, JSON.stringify(entry));
  }

  async sendingOrder(clientOrderId: string): Promise<SendingOrder | undefined> {
    const raw = await this.redis.hget(this.keys.sending(this.account), clientOrderId);
    return raw === null ? undefined : (JSON.parse(raw) as SendingOrder);
  }

  async sendingOrders(): Promise<SendingOrder[]> {
    const raws = await this.redis.hvals(this.keys.sending(this.account));
    return raws.map((r) => JSON.parse(r) as SendingOrder);
  }

  async clearSending(clientOrderId: string): Promise<void> {
    await this.redis.hdel(this.keys.sending(this.account), clientOrderId);
  }

  async pendingOrders(): Promise<PendingOrder[]> {
    const raws = await this.redis.hvals(this.keys.pending(this.account));
    return raws.map((r) => JSON.parse(r) as PendingOrder);
  }

  async openOrderCount(): Promise<number> {
    return this.redis.zcard(this.keys.openOrders(this.account));
  }

  nextCandleAfter(symbol: string, timeframe: string, ts: number): Promise<Candle | undefined> {
    return this.candles.nextAfter(symbol, timeframe, ts);
  }

  async fills(): Promise<Fill[]> {
    const entries = await this.redis.xrange(this.keys.fills(this.account), '-', '+');
    return entries.map(([, fields]) => JSON.parse(fields[1]!) as Fill);
  }

  /**
   * Applies `compute`'s settlement of one open order by compare-and-set, recomputing from fresh
   * state after a conflict; returns the order as it then stands. A closed order is final:
   * `compute` is not called for it. `compute` returning undefined writes nothing.
   */
  async settle(clientOrderId: string, compute: (account: AccountState, order: StoredOrder) => OrderSettlement | undefined): Promise<StoredOrder> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [{ state, version }, raw] = await Promise.all([this.snapshot(), this.redis.hget(this.keys.orders(this.account), clientOrderId)]);
      if (raw === null) throw new Error(`order ${clientOrderId} does not exist`);
      const order = readOrder(raw);
      if (order.status !== 'open') return order;
      const next = compute(state, order);
      if (!next) return order;
      const fills = next.fills ?? [];
      if (fills.length > 0 && !next.account) throw new Error(`settling ${clientOrderId}: fills without the account they change`);
      const applied = Number(
        await SETTLE.run(
          this.redis,
          [this.keys.ledger(this.account), this.keys.orders(this.account), this.keys.openOrders(this.account), this.keys.fills(this.account), this.keys.counters],
          [version, next.account ? JSON.stringify(next.account) : '', clientOrderId, raw, JSON.stringify(next.order), next.order.status, ...fills.map((f) => JSON.stringify(f))],
        ),
      );
      if (applied === 1) return next.order;
      if (applied === 0) return (await this.getOrder(clientOrderId))!;
      // -1: the account or the order changed in between; read again and recompute.
    }
    throw new LedgerConflictError(`could not settle ${clientOrderId}: the account kept changing (50 attempts)`);
  }
}
