import type { Candle } from '../../core/candle.ts';
import type { AccountState } from '../../core/ledger.ts';
import type { OrderRecord } from '../gateway.ts';

/**
 * The storage the paper venue needs, implemented on Redis in src/store. `settle` must apply the
 * computed account and order atomically, and only while the order is still open, so that two
 * processes racing to fill the same order fill it once.
 */
export interface PaperBook {
  insertIfAbsent(order: OrderRecord): Promise<{ inserted: boolean; order: OrderRecord }>;
  getOrder(clientOrderId: string): Promise<OrderRecord | undefined>;
  openOrders(symbol: string, timeframe: string, before: number): Promise<OrderRecord[]>;
  nextCandleAfter(symbol: string, timeframe: string, ts: number): Promise<Candle | undefined>;
  settle(clientOrderId: string, compute: (account: AccountState, order: OrderRecord) => { account: AccountState; order: OrderRecord }): Promise<OrderRecord>;
}
