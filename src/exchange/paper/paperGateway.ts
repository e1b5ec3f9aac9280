import type { Candle } from '../../core/candle.ts';
import { applyFill, LedgerError } from '../../core/ledger.ts';
import type { MarketRules } from '../../core/market.ts';
import type { OrderIntent } from '../../core/order.ts';
import type { ExchangeGateway, OrderRecord, PlaceResult } from '../gateway.ts';
import { fillMarketOrder } from './fillModel.ts';
import type { PaperBook } from './paperBook.ts';

export interface PaperVenueOptions {
  slippageBps: number;
  /** Overrides each market's taker fee. */
  feeRate?: string | undefined;
}

/**
 * The paper exchange: a market order rests until the first candle after its decision candle and
 * fills at that candle's open (the first price the bot could really have had), with slippage and
 * fees, to the market's precision. Whichever comes second, the order or the candle, fills it.
 */
export class PaperGateway implements ExchangeGateway {
  constructor(
    readonly account: string,
    private readonly book: PaperBook,
    private readonly markets: Record<string, MarketRules>,
    private readonly options: PaperVenueOptions,
  ) {}

  async placeOrder(intent: OrderIntent, timeframe: string, now: number): Promise<PlaceResult> {
    const rules = this.markets[intent.symbol];
    const { inserted, order } = await this.book.insertIfAbsent({ intent, timeframe, status: 'open', createdAt: now, updatedAt: now });
    if (!inserted) return { order, duplicate: true };
    if (!rules) return { order: await this.reject(order, `no market rules for ${intent.symbol} on the paper venue`, now), duplicate: false };
    return { order: await this.tryFill(order, now), duplicate: false };
  }

  findOrder(clientOrderId: string): Promise<OrderRecord | undefined> {
    return this.book.getOrder(clientOrderId);
  }

  async onCandle(symbol: string, timeframe: string, candle: Candle, now: number): Promise<OrderRecord[]> {
    const waiting = await this.book.openOrders(symbol, timeframe, candle.ts);
    const settled: OrderRecord[] = [];
    for (const order of waiting) settled.push(await this.tryFill(order, now));
    return settled.filter((o) => o.status !== 'open');
  }

  private async tryFill(order: OrderRecord, now: number): Promise<OrderRecord> {
    const { intent, timeframe } = order;
    const next = await this.book.nextCandleAfter(intent.symbol, timeframe, intent.decisionTs);
    if (!next) return order;
    const rules = this.markets[intent.symbol]!;
    return this.book.settle(intent.clientOrderId, (account, current) => {
      const result = fillMarketOrder({ intent, rules, nextCandle: next, slippageBps: this.options.slippageBps, feeRate: this.options.feeRate });
      if ('reject' in result) return { account, order: { ...current, status: 'rejected', reason: result.reject, updatedAt: now } };
      try {
        return { account: applyFill(account, result.fill, rules), order: { ...current, status: 'filled', fill: result.fill, updatedAt: now } };
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        return { account, order: { ...current, status: 'rejected', reason: error.message, updatedAt: now } };
      }
    });
  }

  private reject(order: OrderRecord, reason: string, now: number): Promise<OrderRecord> {
    return this.book.settle(order.intent.clientOrderId, (account, current) => ({ account, order: { ...current, status: 'rejected', reason, updatedAt: now } }));
  }
}
