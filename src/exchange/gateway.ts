import type { Candle } from '../core/candle.ts';
import type { Fill, OrderIntent } from '../core/order.ts';

export type OrderStatus = 'open' | 'filled' | 'rejected';

export interface OrderRecord {
  intent: OrderIntent;
  timeframe: string;
  status: OrderStatus;
  createdAt: number;
  updatedAt: number;
  fill?: Fill | undefined;
  /** Why the venue refused it (rejected orders only). */
  reason?: string | undefined;
}

export interface PlaceResult {
  order: OrderRecord;
  /** True when the client order id already existed: nothing new was placed. */
  duplicate: boolean;
}

/** What the execution stage needs of a venue, paper or real. */
export interface ExchangeGateway {
  readonly account: string;
  /** Places the order under its client order id; placing the same id again returns the first order. */
  placeOrder(intent: OrderIntent, timeframe: string, now: number): Promise<PlaceResult>;
  findOrder(clientOrderId: string): Promise<OrderRecord | undefined>;
  /** Venues that simulate fills from candles (paper) hook in here; real venues fill on their own. */
  onCandle?(symbol: string, timeframe: string, candle: Candle, now: number): Promise<OrderRecord[]>;
}
