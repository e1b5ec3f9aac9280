import type { Redis } from 'ioredis';
import type { Candle } from '../core/candle.ts';
import { initialAccount, type AccountState } from '../core/ledger.ts';
import type { Fill, OrderIntent } from '../core/order.ts';
import type { Keyspace } from '../infra/keys.ts';
import type { CandleStore } from './candleStore.ts';
import { Script } from './script.ts';

/** Order record as stored; structurally the exchange's OrderRecord (store does not import exchange). */
export interface StoredOrder {
  intent: OrderIntent;
  timeframe: string;
  status: 'open' | 'filled' | 'rejected';
  createdAt: number;
  updatedAt: number;
  fill?: Fill | undefined;
  reason?: string | undefined;
}

export interface PendingOrder {
  intent: OrderIntent;
  timeframe: string;
  /** Price the order was sized at (the decision candle's close). */
  refPrice: number;
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
 * Compare-and-set of the account and one order: applies only if nobody changed the account since
 * it was read and the order is still open. Returns 1 applied, 0 order no longer open, -1 conflict.
 */
const SETTLE = new Script(`
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if version ~= ARGV[1] then return -1 end
local current = redis.call('HGET', KEYS[2], ARGV[3])
if not current or cjson.decode(current).status ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', tostring(tonumber(version) + 1))
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[3])
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[4], '*', 'f', ARGV[5])
  redis.call('HINCRBY', KEYS[5], 'fills', 1)
end
redis.call('HINCRBY', KEYS[5], 'orders.' .. ARGV[6], 1)
return 1
`);

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
    return existing === null ? { inserted: true, order } : { inserted: false, order: JSON.parse(existing as string) as StoredOrder };
  }

  async getOrder(clientOrderId: string): Promise<StoredOrder | undefined> {
    const raw = await this.redis.hget(this.keys.orders(this.account), clientOrderId);
    return raw === null ? undefined : (JSON.parse(raw) as StoredOrder);
  }

  async orders(): Promise<StoredOrder[]> {
    const all = await this.redis.hvals(this.keys.orders(this.account));
    return all.map((raw) => JSON.parse(raw) as StoredOrder);
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
      .map((r) => JSON.parse(r) as StoredOrder)
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

  async settle(
    clientOrderId: string,
    compute: (account: AccountState, order: StoredOrder) => { account: AccountState; order: StoredOrder },
  ): Promise<StoredOrder> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [{ state, version }, order] = await Promise.all([this.snapshot(), this.getOrder(clientOrderId)]);
      if (!order) throw new Error(`order ${clientOrderId} does not exist`);
      if (order.status !== 'open') return order;
      const next = compute(state, order);
      const applied = Number(
        await SETTLE.run(
          this.redis,
          [this.keys.ledger(this.account), this.keys.orders(this.account), this.keys.openOrders(this.account), this.keys.fills(this.account), this.keys.counters],
          [version, JSON.stringify(next.account), clientOrderId, JSON.stringify(next.order), next.order.fill ? JSON.stringify(next.order.fill) : '', next.order.status],
        ),
      );
      if (applied === 1) return next.order;
      if (applied === 0) return (await this.getOrder(clientOrderId))!;
      // -1: another fill changed the account in between; read again and recompute.
    }
    throw new LedgerConflictError(`could not settle ${clientOrderId}: the account kept changing (50 attempts)`);
  }
}
