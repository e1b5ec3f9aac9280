import { createHash } from 'node:crypto';

export type OrderSide = 'buy' | 'sell';

/** What execution is asked to do. Amounts are decimal strings already rounded to the market's step. */
export interface OrderIntent {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: 'market';
  amount: string;
  /** Open time of the candle the decision was made on; a fill must come from a later candle. */
  decisionTs: number;
  reason: string;
}

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
