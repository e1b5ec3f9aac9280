import { Decimal } from 'decimal.js';
import type { AccountState } from '../core/ledger.ts';
import { quoteOf } from '../core/market.ts';
import type { OrderIntent } from '../core/order.ts';
import type { Holding } from './engine.ts';
import type { CloseSeries } from './returns.ts';

/** An order decided but not settled: what the risk engine counts as already committed. */
export interface UnsettledOrder {
  intent: Pick<OrderIntent, 'symbol' | 'side' | 'amount'>;
  /** Price it was sized at. */
  refPrice: number;
}

/** Positions at their marks and unsettled buys at their order value, in one quote currency. */
export function holdingsIn(quote: string, state: AccountState, marks: Readonly<Record<string, string>>, unsettled: readonly UnsettledOrder[]): Holding[] {
  const holdings: Holding[] = [];
  for (const [symbol, p] of Object.entries(state.positions)) {
    if (quoteOf(symbol) !== quote || marks[symbol] === undefined) continue;
    const value = new Decimal(p.amount).mul(marks[symbol]!);
    if (value.gt(0)) holdings.push({ symbol, value: value.toNumber() });
  }
  for (const p of unsettled) {
    if (p.intent.side === 'buy' && quoteOf(p.intent.symbol) === quote) holdings.push({ symbol: p.intent.symbol, value: new Decimal(p.intent.amount).mul(p.refPrice).toNumber() });
  }
  return holdings;
}

/** Closes of a candle window as the series the risk engine aligns. */
export function seriesOf(w: { length: number; ts: ArrayLike<number>; close: ArrayLike<number> }): CloseSeries {
  // A plain loop: Array.from with a mapping function was a tenth of a backtest's decision time.
  const out = new Array<{ ts: number; close: number }>(w.length);
  for (let i = 0; i < w.length; i++) out[i] = { ts: w.ts[i]!, close: w.close[i]! };
  return out;
}
