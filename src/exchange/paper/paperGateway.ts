import type { Candle } from '../../core/candle.ts';
import { applyFill, LedgerError } from '../../core/ledger.ts';
import type { MarketRules } from '../../core/market.ts';
import { closeOrder, newOrderRecord, withFill, type OrderIntent, type OrderRecord } from '../../core/order.ts';
import type { ExchangeGateway, PlaceResult } from '../gateway.ts';
import { advanceLimitOrder, checkLimitOrder, fillMarketOrder } from './fillModel.ts';
import type { PaperBook } from './paperBook.ts';

export interface PaperVenueOptions {
  slippageBps: number;
  /** Overrides each market's taker fee (market orders). */
  feeRate?: string | undefined;
  /** Overrides each market's maker fee (limit orders). */
  makerFeeRate?: string | undefined;
  /** Most of one candle's volume a limit order can fill on it, in (0, 1]; default 0.1. */
  limitFillShare?: number | undefined;
}

export const DEFAULT_LIMIT_FILL_SHARE = 0.1;

/** A series is matched at most this many candles at a time; the next candle carries on. */
const MAX_CANDLES_PER_MATCH = 1000;

/**
 * The paper exchange. A market order rests until the first candle after its decision candle and
 * fills at that candle's open (the first price the bot could really have had), with slippage and
 * taker fee, to the market's precision. A limit order rests from placement and is matched, candle
 * by candle in time order, against every candle after its decision candle, filling in parts at
 * maker fee until it is filled, expires, is cancelled or the account cannot take more.
 *
 * Fills happen only in `onCandle`, which the pipeline calls when it decides on that candle (and
 * the backtester at the same point of its loop): the account then changes at the same point of
 * the candle sequence however far ahead of the decisions the feed and the orders run. A late
 * order still fills at the right candle's prices, on the next call.
 */
export class PaperGateway implements ExchangeGateway {
  private readonly limitFillShare: number;

  constructor(
    readonly account: string,
    private readonly book: PaperBook,
    private readonly markets: Record<string, MarketRules>,
    private readonly options: PaperVenueOptions,
  ) {
    this.limitFillShare = options.limitFillShare ?? DEFAULT_LIMIT_FILL_SHARE;
    if (!Number.isFinite(this.limitFillShare) || this.limitFillShare <= 0 || this.limitFillShare > 1) {
      throw new Error(`paper venue: limitFillShare must be in (0, 1], got ${options.limitFillShare}`);
    }
  }

  async placeOrder(intent: OrderIntent, timeframe: string, now: number): Promise<PlaceResult> {
    const rules = this.markets[intent.symbol];
    const { inserted, order } = await this.book.insertIfAbsent(newOrderRecord(intent, timeframe, now));
    if (!inserted) return { order, duplicate: true };
    if (!rules) return { order: await this.reject(order, `no market rules for ${intent.symbol} on the paper venue`, now), duplicate: false };
    if (intent.type === 'limit') {
      const invalid = checkLimitOrder(intent, rules, this.makerFee(rules));
      if (invalid) return { order: await this.reject(order, invalid, now), duplicate: false };
    }
    return { order, duplicate: false };
  }

  findOrder(clientOrderId: string): Promise<OrderRecord | undefined> {
    return this.book.getOrder(clientOrderId);
  }

  async cancelOrder(clientOrderId: string, reason: string, now: number): Promise<OrderRecord | undefined> {
    if (!(await this.book.getOrder(clientOrderId))) return undefined;
    return this.book.settle(clientOrderId, (_account, current) => ({ order: closeOrder(current, 'cancelled', reason, now) }));
  }

  async onCandle(symbol: string, timeframe: string, candle: Candle, now: number): Promise<OrderRecord[]> {
    const waiting = await this.book.openOrders(symbol, timeframe, candle.ts);
    const changed: OrderRecord[] = [];
    for (const order of waiting) {
      const rules = this.markets[order.intent.symbol];
      const after = !rules
        ? await this.reject(order, `no market rules for ${order.intent.symbol} on the paper venue`, now)
        : order.intent.type === 'limit'
          ? await this.matchLimit(order, rules, candle.ts, now)
          : await this.tryFill(order, rules, now);
      if (after.status !== 'open' || after.fillCount !== order.fillCount) changed.push(after);
    }
    return changed;
  }

  private makerFee(rules: MarketRules): string {
    return this.options.makerFeeRate ?? rules.maker;
  }

  private async tryFill(order: OrderRecord, rules: MarketRules, now: number): Promise<OrderRecord> {
    const { intent, timeframe } = order;
    const next = await this.book.nextCandleAfter(intent.symbol, timeframe, intent.decisionTs);
    if (!next) return order;
    return this.book.settle(intent.clientOrderId, (account, current) => {
      const result = fillMarketOrder({ intent, rules, nextCandle: next, slippageBps: this.options.slippageBps, feeRate: this.options.feeRate });
      if ('reject' in result) return { order: closeOrder(current, 'rejected', result.reject, now) };
      try {
        return { account: applyFill(account, result.fill, rules), order: withFill(current, result.fill, now), fills: [result.fill] };
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        return { order: closeOrder(current, 'rejected', error.message, now) };
      }
    });
  }

  /** Matches a resting limit order against the stored candles after the last one it saw, up to `upTo`. */
  private async matchLimit(order: OrderRecord, rules: MarketRules, upTo: number, now: number): Promise<OrderRecord> {
    const { intent, timeframe } = order;
    const candles: Candle[] = [];
    let after = order.matchedThrough ?? intent.decisionTs;
    while (candles.length < MAX_CANDLES_PER_MATCH) {
      const next = await this.book.nextCandleAfter(intent.symbol, timeframe, after);
      if (!next || next.ts > upTo) break;
      candles.push(next);
      after = next.ts;
    }
    if (candles.length === 0) return order;
    return this.book.settle(intent.clientOrderId, (account, current) =>
      advanceLimitOrder({ account, order: current, rules, candles, volumeShare: this.limitFillShare, feeRate: this.makerFee(rules), now }),
    );
  }

  private reject(order: OrderRecord, reason: string, now: number): Promise<OrderRecord> {
    return this.book.settle(order.intent.clientOrderId, (_account, current) => ({ order: closeOrder(current, 'rejected', reason, now) }));
  }
}
