import { createHash } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { toDecimal, toPlain } from './precision.ts';

export type OrderSide = 'buy' | 'sell';

interface OrderIntentBase {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  amount: string;
  /** Open time of the candle the decision was made on; a fill must come from a later candle. */
  decisionTs: number;
  reason: string;
}

/** An order decided and not settled yet: queued for execution or resting at the venue. */
export interface UnsettledIntent {
  intent: OrderIntent;
  timeframe: string;
  /** Price the order was sized at (the decision candle's close). */
  refPrice: number;
}

/** Fills whole at the open of the first candle after the decision candle. */
export interface MarketOrderIntent extends OrderIntentBase {
  type: 'market';
}

/**
 * Rests at `price` from placement and fills, possibly in parts, on later candles that trade
 * through it. `expiresAfterMs` is good-till-time counted from the decision candle's open: the
 * first candle opening at or after decisionTs + expiresAfterMs cancels what is unfilled (so
 * N × timeframe leaves the N − 1 candles after the decision candle to fill). Unset: good till cancelled.
 */
export interface LimitOrderIntent extends OrderIntentBase {
  type: 'limit';
  /** Decimal string on the market's price tick. */
  price: string;
  expiresAfterMs?: number | undefined;
}

/** What execution is asked to do. Amounts and prices are decimal strings already rounded to the market's step and tick. */
export type OrderIntent = MarketOrderIntent | LimitOrderIntent;
export type OrderType = OrderIntent['type'];

/** An executed (part of an) order. `fee` is in `feeCurrency`; `ts` is when it filled, Unix ms. */
export interface Fill {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  amount: string;
  price: string;
  fee: string;
  feeCurrency: string;
  ts: number;
  /** Real venues: the quote amount the venue settled (its own rounding of amount × price). */
  cost?: string | undefined;
}

/** 'open' = resting or partly filled: not settled yet. The other three are final. */
export type OrderStatus = 'open' | 'filled' | 'cancelled' | 'rejected';

/** An order at the venue, as the venue and the ledger store keep it. */
export interface OrderRecord {
  intent: OrderIntent;
  timeframe: string;
  status: OrderStatus;
  createdAt: number;
  updatedAt: number;
  /** Base units filled so far; filledAmount + remaining = intent.amount at all times. */
  filledAmount: string;
  /** Base units not filled: still resting while open, given up once cancelled or rejected. */
  remaining: string;
  /** Σ amount × price of the fills, in the quote currency, fees excluded (exact, unlike avgPrice). */
  filledCost: string;
  /** Volume-weighted average fill price; '0' before the first fill. */
  avgPrice: string;
  fillCount: number;
  /** The latest fill (a market order's only one); every fill is in the ledger's fills stream. */
  fill?: Fill | undefined;
  /**
   * Limit orders: open time of the last candle matched against the order. Candles are matched in
   * time order and never again, which makes a fill idempotent on (clientOrderId, candle ts).
   */
  matchedThrough?: number | undefined;
  /** Why the venue refused or cancelled it. */
  reason?: string | undefined;
  /** Real venues: the exchange's own order id. */
  venueOrderId?: string | undefined;
  /** Real venues: ids of the exchange trades already applied to the ledger (each is applied once). */
  venueTradeIds?: string[] | undefined;
}

/** The record of an order just placed: nothing filled, the whole amount resting. */
export function newOrderRecord(intent: OrderIntent, timeframe: string, now: number): OrderRecord {
  return { intent, timeframe, status: 'open', createdAt: now, updatedAt: now, filledAmount: '0', remaining: intent.amount, filledCost: '0', avgPrice: '0', fillCount: 0 };
}

/** Average prices are not always finite decimals (a third of a sum); this bounds their digits. */
const AVG_PRICE_DECIMALS = 18;

/**
 * The order after `fill` of some of its remaining amount: filled amount, cost and average price
 * grow, the remainder shrinks, and the order is 'filled' once nothing remains. Throws on a fill
 * of another order or of more than remains (a bug upstream, never a market event).
 */
export function withFill(order: OrderRecord, fill: Fill, now: number): OrderRecord {
  if (fill.clientOrderId !== order.intent.clientOrderId) throw new Error(`fill of ${fill.clientOrderId} applied to order ${order.intent.clientOrderId}`);
  const amount = toDecimal(fill.amount, 'fill amount');
  const remaining = toDecimal(order.remaining, 'remaining amount').minus(amount);
  if (!amount.isPositive() || amount.isZero() || remaining.isNegative()) {
    throw new Error(`fill of ${fill.amount} does not fit the ${order.remaining} remaining of ${order.intent.clientOrderId}`);
  }
  const filled = toDecimal(order.filledAmount, 'filled amount').plus(amount);
  const cost = toDecimal(order.filledCost, 'filled cost').plus(amount.times(toDecimal(fill.price, 'fill price')));
  return {
    ...order,
    status: remaining.isZero() ? 'filled' : order.status,
    filledAmount: toPlain(filled),
    remaining: toPlain(remaining),
    filledCost: toPlain(cost),
    avgPrice: toPlain(cost.div(filled).toDecimalPlaces(AVG_PRICE_DECIMALS, Decimal.ROUND_HALF_EVEN)),
    fillCount: order.fillCount + 1,
    fill,
    updatedAt: now,
  };
}

/** Ends an open order without filling the rest; fills so far stay. */
export function closeOrder(order: OrderRecord, status: 'cancelled' | 'rejected', reason: string, now: number): OrderRecord {
  return { ...order, status, reason, updatedAt: now };
}

export interface ClientOrderIdParts {
  account: string;
  symbol: string;
  timeframe: string;
  decisionTs: number;
  side: OrderSide;
  purpose: string;
}

export const CLIENT_ORDER_ID_MAX_LENGTH = 36;
/** Binance allows 36 chars of [.A-Z:/a-z0-9_-]; BullMQ job ids may not hold ':'. This is the common subset. */
export const CLIENT_ORDER_ID_PATTERN = /^[A-Za-z0-9_-]{1,36}$/;

const HASH_CHARS = 20; // 80 bits: collisions are out of reach for any realistic number of orders.
const SYMBOL_CHARS = CLIENT_ORDER_ID_MAX_LENGTH - HASH_CHARS - 4; // 4 = "q" + side + two "-"

/**
 * A deterministic client order id for an intent: the same decision always gets the same id (so a
 * retried job or a re-run coordinator cannot place a second order) and any different field gets
 * another. Shaped "qb-ADABTC-<hash>": readable in logs, at most 36 chars of [A-Za-z0-9_-].
 */
export function clientOrderIdFor(parts: ClientOrderIdParts): string {
  const { account, symbol, timeframe, decisionTs, side, purpose } = parts;
  for (const [name, value] of Object.entries({ account, symbol, timeframe, purpose })) {
    if (typeof value !== 'string' || value.length === 0) throw new Error(`clientOrderIdFor: ${name} must be a non-empty string`);
  }
  if (side !== 'buy' && side !== 'sell') throw new Error(`clientOrderIdFor: side must be "buy" or "sell", got ${String(side)}`);
  if (!Number.isSafeInteger(decisionTs)) throw new Error(`clientOrderIdFor: decisionTs must be an integer (ms), got ${decisionTs}`);
  // JSON of an array is an unambiguous encoding: no two different tuples share it.
  const canonical = JSON.stringify(['v1', account, symbol, timeframe, decisionTs, side, purpose]);
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, HASH_CHARS);
  const readable = symbol.replace(/[^A-Za-z0-9]/g, '').slice(0, SYMBOL_CHARS);
  return `q${side === 'buy' ? 'b' : 's'}-${readable}-${hash}`;
}
