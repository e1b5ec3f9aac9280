import type { Candle } from '../../core/candle.ts';
import type { MarketRules } from '../../core/market.ts';
import type { Fill, OrderIntent } from '../../core/order.ts';
import { Dec, feeFor, isMultipleOf, roundPrice, toPlain, tryDecimal } from '../../core/precision.ts';

export interface FillInput {
  intent: OrderIntent;
  rules: MarketRules;
  /** The first candle after the decision candle: its open is the first price the bot could have had. */
  nextCandle: Candle;
  slippageBps: number;
  /** Overrides rules.taker. */
  feeRate?: string;
}

export type FillResult = { fill: Fill } | { reject: string };

/**
 * Fills a market order the way the backtester and the paper exchange both must: at the next
 * candle's open, worsened by slippage (a buy pays more, a sell receives less), rounded to the
 * tick against the trader, and never outside that candle's [low, high]. The fee is charged in
 * the quote currency. Anything the real exchange would refuse is a reject with its reason.
 */
export function fillMarketOrder(input: FillInput): FillResult {
  const { intent, rules, nextCandle: candle } = input;
  if (intent.symbol !== rules.symbol) return { reject: `order is for ${intent.symbol} but the rules are for ${rules.symbol}` };
  if (intent.type !== 'market') return { reject: `only market orders are supported, got ${String(intent.type)}` };
  if (intent.side !== 'buy' && intent.side !== 'sell') return { reject: `side must be buy or sell, got ${String(intent.side)}` };
  if (!Number.isFinite(candle.ts) || !Number.isFinite(intent.decisionTs)) {
    return { reject: `timestamps must be finite (candle ${candle.ts}, decision ${intent.decisionTs})` };
  }
  // Filling on the decision candle itself (or earlier) would trade on prices the bot had not seen yet.
  if (candle.ts <= intent.decisionTs) {
    return { reject: `lookahead: fill candle ${candle.ts} is not after the decision candle ${intent.decisionTs}` };
  }

  const open = tryDecimal(candle.open);
  const high = tryDecimal(candle.high);
  const low = tryDecimal(candle.low);
  if (!open || !high || !low || !low.isPositive() || low.isZero() || open.lt(low) || open.gt(high)) {
    return { reject: `fill candle ${candle.ts} is malformed (open ${candle.open}, high ${candle.high}, low ${candle.low})` };
  }

  const step = tryDecimal(rules.precision.amount);
  const tick = tryDecimal(rules.precision.price);
  if (!step || !tick || !step.isPositive() || step.isZero() || !tick.isPositive() || tick.isZero()) {
    return { reject: `market ${rules.symbol} has no valid amount step or price tick` };
  }
  const amount = tryDecimal(intent.amount);
  if (!amount || !amount.isPositive() || amount.isZero()) return { reject: `amount ${intent.amount} is not a positive number` };
  if (!isMultipleOf(amount, step)) return { reject: `amount ${intent.amount} is not a multiple of the step ${rules.precision.amount}` };
  const minAmount = tryDecimal(rules.limits.amount.min) ?? new Dec(0);
  if (amount.lt(minAmount)) return { reject: `amount ${intent.amount} is below the minimum ${rules.limits.amount.min}` };
  const maxAmount = rules.limits.amount.max === undefined ? undefined : tryDecimal(rules.limits.amount.max);
  if (maxAmount && maxAmount.isPositive() && amount.gt(maxAmount)) {
    return { reject: `amount ${intent.amount} is above the maximum ${rules.limits.amount.max}` };
  }
  if (!Number.isFinite(input.slippageBps) || input.slippageBps < 0 || input.slippageBps >= 10_000) {
    return { reject: `slippage ${input.slippageBps} bps is not in [0, 10000)` };
  }
  const rateText = input.feeRate ?? rules.taker;
  const rate = tryDecimal(rateText);
  if (!rate || rate.isNegative() || rate.gte(1)) return { reject: `fee rate ${rateText} is not in [0, 1)` };

  const buy = intent.side === 'buy';
  const slip = new Dec(input.slippageBps).div(10_000);
  const slipped = open.times(buy ? slip.plus(1) : new Dec(1).minus(slip));
  const clamped = Dec.min(Dec.max(slipped, low), high);
  let price = roundPrice(clamped, tick, buy ? 'up' : 'down');
  // Rounding against the trader may cross the candle's edge: take the last tick inside instead.
  if (price.gt(high)) price = roundPrice(high, tick, 'down');
  if (price.lt(low)) price = roundPrice(low, tick, 'up');
  if (price.gt(high) || price.lt(low) || !price.isPositive() || price.isZero()) {
    return { reject: `no price on the ${rules.precision.price} tick grid lies within candle ${candle.ts} [${candle.low}, ${candle.high}]` };
  }

  const cost = amount.times(price);
  const minCost = tryDecimal(rules.limits.cost.min) ?? new Dec(0);
  if (cost.lt(minCost)) return { reject: `cost ${toPlain(cost)} ${rules.quote} is below the minimum ${rules.limits.cost.min}` };

  return {
    fill: {
      clientOrderId: intent.clientOrderId,
      symbol: intent.symbol,
      side: intent.side,
      amount: toPlain(amount),
      price: toPlain(price),
      fee: toPlain(feeFor(cost, rate)),
      feeCurrency: rules.quote,
      ts: candle.ts,
    },
  };
}
