import type { Candle } from '../core/candle.ts';
import type { OrderIntent, OrderRecord } from '../core/order.ts';

export type { OrderRecord, OrderStatus } from '../core/order.ts';

export interface PlaceResult {
  order: OrderRecord;
  /** True when the client order id already existed: nothing new was placed. */
  duplicate: boolean;
  /** Real venues: the order was not in the ledger but found at the venue by its client order id (an earlier attempt placed it). */
  recovered?: boolean;
}

/** What the execution stage needs of a venue, paper or real. */
export interface ExchangeGateway {
  readonly account: string;
  /** Places the order under its client order id; placing the same id again returns the first order. */
  placeOrder(intent: OrderIntent, timeframe: string, now: number): Promise<PlaceResult>;
  findOrder(clientOrderId: string): Promise<OrderRecord | undefined>;
  /**
   * Cancels what is unfilled of an open order, keeping its fills. Idempotent: a settled order is
   * returned as it is. Undefined when the venue has no order with that id.
   */
  cancelOrder(clientOrderId: string, reason: string, now: number): Promise<OrderRecord | undefined>;
  /**
   * Venues that simulate fills from candles (paper) hook in here; real venues fill on their own.
   * Returns the orders this candle changed (filled in part or whole, cancelled or rejected).
   */
  onCandle?(symbol: string, timeframe: string, candle: Candle, now: number): Promise<OrderRecord[]>;
}
