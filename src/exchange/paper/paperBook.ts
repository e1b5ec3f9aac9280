import type { Candle } from '../../core/candle.ts';
import type { AccountState } from '../../core/ledger.ts';
import type { Fill, OrderRecord } from '../../core/order.ts';

/** What one settlement writes: the order, and the account with the fills that changed it. */
export interface Settlement {
  order: OrderRecord;
  /** The account after `fills`; omitted when the account did not change (a reject, a cancel, a candle that did not trade through). */
  account?: AccountState | undefined;
  /** New fills, in the order they happened; each is appended to the ledger's fills stream once. */
  fills?: Fill[] | undefined;
}

/**
 * The storage the paper venue needs, implemented on Redis in src/store. `settle` must apply the
 * computed order (and account) atomically, and only while neither changed since `compute` saw
 * them, so that two processes racing to fill the same order fill it once. `compute` returning
 * undefined means there is nothing to write.
 */
export interface PaperBook {
  insertIfAbsent(order: OrderRecord): Promise<{ inserted: boolean; order: OrderRecord }>;
  getOrder(clientOrderId: string): Promise<OrderRecord | undefined>;
  openOrders(symbol: string, timeframe: string, before: number): Promise<OrderRecord[]>;
  nextCandleAfter(symbol: string, timeframe: string, ts: number): Promise<Candle | undefined>;
  settle(clientOrderId: string, compute: (account: AccountState, order: OrderRecord) => Settlement | undefined): Promise<OrderRecord>;
}
