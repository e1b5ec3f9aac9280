import type { Candle } from '../core/candle.ts';
import type { AccountState } from '../core/ledger.ts';
import type { Fill, OrderRecord } from '../core/order.ts';
import type { PaperBook, Settlement } from '../exchange/paper/paperBook.ts';

/**
 * The paper venue's storage in memory, for the backtester: the same contract the pipeline's Redis
 * ledger meets (src/store/ledgerStore.ts), answering in the same order (open orders by decision
 * time, then client order id), so that the same fill model fills the same orders the same way.
 */
export class MemoryBook implements PaperBook {
  private readonly orders = new Map<string, OrderRecord>();
  private readonly open = new Set<string>();
  readonly fills: Fill[] = [];

  constructor(
    public account: AccountState,
    private readonly candlesAfter: (symbol: string, timeframe: string, ts: number) => Candle | undefined,
  ) {}

  async insertIfAbsent(order: OrderRecord): Promise<{ inserted: boolean; order: OrderRecord }> {
    const existing = this.orders.get(order.intent.clientOrderId);
    if (existing) return { inserted: false, order: existing };
    this.orders.set(order.intent.clientOrderId, order);
    if (order.status === 'open') this.open.add(order.intent.clientOrderId);
    return { inserted: true, order };
  }

  async getOrder(clientOrderId: string): Promise<OrderRecord | undefined> {
    return this.orders.get(clientOrderId);
  }

  async openOrders(symbol: string, timeframe: string, before: number): Promise<OrderRecord[]> {
    return this.openNow()
      .filter((o) => o.intent.decisionTs < before && o.intent.symbol === symbol && o.timeframe === timeframe);
  }

  /** Every open order, by decision time then client order id (the Redis sorted set's order). */
  openNow(): OrderRecord[] {
    return [...this.open]
      .map((id) => this.orders.get(id)!)
      .sort((a, b) => a.intent.decisionTs - b.intent.decisionTs || (a.intent.clientOrderId < b.intent.clientOrderId ? -1 : a.intent.clientOrderId > b.intent.clientOrderId ? 1 : 0));
  }

  async nextCandleAfter(symbol: string, timeframe: string, ts: number): Promise<Candle | undefined> {
    return this.candlesAfter(symbol, timeframe, ts);
  }

  async settle(clientOrderId: string, compute: (account: AccountState, order: OrderRecord) => Settlement | undefined): Promise<OrderRecord> {
    const order = this.orders.get(clientOrderId);
    if (!order) throw new Error(`order ${clientOrderId} does not exist`);
    if (order.status !== 'open') return order;
    const next = compute(this.account, order);
    if (!next) return order;
    if ((next.fills ?? []).length > 0 && !next.account) throw new Error(`settling ${clientOrderId}: fills without the account they change`);
    if (next.account) this.account = next.account;
    this.orders.set(clientOrderId, next.order);
    if (next.order.status !== 'open') this.open.delete(clientOrderId);
    this.fills.push(...(next.fills ?? []));
    return next.order;
  }

  allOrders(): OrderRecord[] {
    return [...this.orders.values()];
  }
}
