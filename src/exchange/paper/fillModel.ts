import type { Decimal } from 'decimal.js';
import type { Candle } from '../../core/candle.ts';
import { applyFill, LedgerError, type AccountState } from '../../core/ledger.ts';
import type { MarketRules } from '../../core/market.ts';
import { closeOrder, withFill, type Fill, type LimitOrderIntent, type OrderIntent, type OrderRecord } from '../../core/order.ts';
import { Dec, feeFor, isMultipleOf, roundAmountDown, roundPrice, toDecimal, toPlain, tryDecimal } from '../../core/precision.ts';
import type { Settlement } from './paperBook.ts';

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

/** Why a limit order is not acceptable to the venue, or undefined if it is. Checked at placement and before every match. */
export function checkLimitOrder(intent: LimitOrderIntent, rules: MarketRules, feeRate: string): string | undefined {
  if (intent.symbol !== rules.symbol) return `order is for ${intent.symbol} but the rules are for ${rules.symbol}`;
  if (intent.type !== 'limit') return `not a limit order: ${String(intent.type)}`;
  if (intent.side !== 'buy' && intent.side !== 'sell') return `side must be buy or sell, got ${String(intent.side)}`;
  if (!Number.isSafeInteger(intent.decisionTs)) return `decision time ${intent.decisionTs} is not an integer (ms)`;
  if (intent.expiresAfterMs !== undefined && (!Number.isSafeInteger(intent.expiresAfterMs) || intent.expiresAfterMs <= 0)) {
    return `expiresAfterMs ${intent.expiresAfterMs} is not a positive integer (ms)`;
  }
  const step = tryDecimal(rules.precision.amount);
  const tick = tryDecimal(rules.precision.price);
  if (!step || !tick || !step.isPositive() || step.isZero() || !tick.isPositive() || tick.isZero()) {
    return `market ${rules.symbol} has no valid amount step or price tick`;
  }
  const amount = tryDecimal(intent.amount);
  if (!amount || !amount.isPositive() || amount.isZero()) return `amount ${intent.amount} is not a positive number`;
  if (!isMultipleOf(amount, step)) return `amount ${intent.amount} is not a multiple of the step ${rules.precision.amount}`;
  const price = tryDecimal(intent.price);
  if (!price || !price.isPositive() || price.isZero()) return `limit price ${String(intent.price)} is not a positive number`;
  if (!isMultipleOf(price, tick)) return `limit price ${intent.price} is not on the ${rules.precision.price} tick`;
  const maxAmount = rules.limits.amount.max === undefined ? undefined : tryDecimal(rules.limits.amount.max);
  if (maxAmount && maxAmount.isPositive() && amount.gt(maxAmount)) return `amount ${intent.amount} is above the maximum ${rules.limits.amount.max}`;
  const tooSmall = belowMinimum(amount, price, rules);
  if (tooSmall) return tooSmall;
  const rate = tryDecimal(feeRate);
  if (!rate || rate.isNegative() || rate.gte(1)) return `fee rate ${feeRate} is not in [0, 1)`;
  return undefined;
}

/** Why `amount` at `price` is below the market's minimum order, or undefined if it is not. */
function belowMinimum(amount: Decimal, price: Decimal, rules: MarketRules): string | undefined {
  const minAmount = tryDecimal(rules.limits.amount.min) ?? new Dec(0);
  if (amount.lt(minAmount)) return `amount ${toPlain(amount)} is below the minimum ${rules.limits.amount.min}`;
  const minCost = tryDecimal(rules.limits.cost.min) ?? new Dec(0);
  const cost = amount.times(price);
  if (cost.lt(minCost)) return `cost ${toPlain(cost)} ${rules.quote} is below the minimum ${rules.limits.cost.min}`;
  return undefined;
}

export interface LimitMatchInput {
  intent: LimitOrderIntent;
  rules: MarketRules;
  /** A stored candle after the decision candle. */
  candle: Candle;
  /** Base units still resting. */
  remaining: string;
  /** At most this share of the candle's volume fills on it: the order is one of many at that price. */
  volumeShare: number;
  /** The maker fee rate (a resting order adds liquidity). */
  feeRate: string;
}

/** A fill; or why this candle leaves the order resting; or the order's expiry. */
export type LimitMatch = { fill: Fill } | { rest: string } | { expire: string };

/**
 * Matches a resting limit order (already checked by checkLimitOrder) against one later candle.
 * It fills only when the candle trades strictly through the price: a buy when low < price, a sell
 * when high > price. A touch at exactly the price is not a fill, because a candle that only
 * touched it says nothing of whether the queue ahead of the order was ever cleared (the
 * conservative convention). It fills at its limit price, or at the open when the candle gapped
 * through it: the order would have been taken by the first trade, at that better price. At most
 * `volumeShare` of the candle's volume fills, rounded down to the amount step.
 */
export function matchLimitOrder(input: LimitMatchInput): LimitMatch {
  const { intent, rules, candle } = input;
  // The decision candle itself (or earlier) traded before the order existed.
  if (!(candle.ts > intent.decisionTs)) return { rest: `candle ${candle.ts} is not after the decision candle ${intent.decisionTs}` };
  if (intent.expiresAfterMs !== undefined && candle.ts >= intent.decisionTs + intent.expiresAfterMs) {
    return { expire: `expired: unfilled at ${intent.decisionTs + intent.expiresAfterMs} (decision candle ${intent.decisionTs} + ${intent.expiresAfterMs} ms)` };
  }
  const open = tryDecimal(candle.open);
  const high = tryDecimal(candle.high);
  const low = tryDecimal(candle.low);
  const volume = tryDecimal(candle.volume);
  if (!open || !high || !low || !volume || volume.isNegative()) return { rest: `candle ${candle.ts} is malformed` };
  const price = toDecimal(intent.price, 'limit price');
  const buy = intent.side === 'buy';
  if (buy ? !low.lt(price) : !high.gt(price)) {
    return { rest: buy ? `low ${candle.low} is not below ${intent.price}` : `high ${candle.high} is not above ${intent.price}` };
  }
  const tick = rules.precision.price;
  // Gap: the open is already through the limit, rounded to the tick against the trader but never past the limit.
  const at = buy
    ? open.lt(price) ? Dec.min(price, roundPrice(open, tick, 'up')) : price
    : open.gt(price) ? Dec.max(price, roundPrice(open, tick, 'down')) : price;

  if (!Number.isFinite(input.volumeShare) || input.volumeShare <= 0 || input.volumeShare > 1) {
    return { rest: `volume share ${input.volumeShare} is not in (0, 1]` };
  }
  const cap = roundAmountDown(volume.times(input.volumeShare), rules.precision.amount);
  const amount = Dec.min(toDecimal(input.remaining, 'remaining amount'), cap);
  if (!amount.isPositive() || amount.isZero()) {
    return { rest: `${input.volumeShare} of candle ${candle.ts}'s volume ${candle.volume} is less than one step ${rules.precision.amount}` };
  }
  return {
    fill: {
      clientOrderId: intent.clientOrderId,
      symbol: intent.symbol,
      side: intent.side,
      amount: toPlain(amount),
      price: toPlain(at),
      fee: toPlain(feeFor(amount.times(at), input.feeRate)),
      feeCurrency: rules.quote,
      ts: candle.ts,
    },
  };
}

export interface LimitAdvanceInput {
  account: AccountState;
  order: OrderRecord;
  rules: MarketRules;
  /** Stored candles of the order's market and timeframe; those at or before its last matched one are skipped. */
  candles: Candle[];
  volumeShare: number;
  /** The maker fee rate. */
  feeRate: string;
  now: number;
}

/**
 * Moves an open limit order through the candles it has not been matched against yet, oldest
 * first, applying each fill to the account. It stops at the first candle that fills the rest,
 * expires it, or finds the account unable to take the fill (the rest is cancelled with the
 * ledger's reason, never overdrawn), or a remainder too small to trade (cancelled). Undefined
 * when there is no new candle: nothing to write.
 */
export function advanceLimitOrder(input: LimitAdvanceInput): Settlement | undefined {
  const { order, rules, now } = input;
  const intent = order.intent;
  if (order.status !== 'open' || intent.type !== 'limit') return undefined;
  const fresh = [...input.candles].sort((a, b) => a.ts - b.ts).filter((c) => c.ts > (order.matchedThrough ?? intent.decisionTs));
  if (fresh.length === 0) return undefined;

  const invalid = checkLimitOrder(intent, rules, input.feeRate);
  if (invalid) return { order: closeOrder(order, order.fillCount > 0 ? 'cancelled' : 'rejected', invalid, now) };

  let account = input.account;
  let current = order;
  const fills: Fill[] = [];
  for (const candle of fresh) {
    if (candle.ts <= (current.matchedThrough ?? intent.decisionTs)) continue; // the same candle twice in one batch
    current = { ...current, matchedThrough: candle.ts, updatedAt: now };
    const match = matchLimitOrder({ intent, rules, candle, remaining: current.remaining, volumeShare: input.volumeShare, feeRate: input.feeRate });
    if ('expire' in match) {
      current = closeOrder(current, 'cancelled', match.expire, now);
      break;
    }
    if ('rest' in match) continue;
    try {
      account = applyFill(account, match.fill, rules);
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      current = closeOrder(current, 'cancelled', `cancelled at candle ${candle.ts}: ${error.message}`, now);
      break;
    }
    fills.push(match.fill);
    current = withFill(current, match.fill, now);
    if (current.status === 'filled') break;
    const tooSmall = belowMinimum(toDecimal(current.remaining, 'remaining amount'), toDecimal(intent.price, 'limit price'), rules);
    if (tooSmall) {
      // The market would refuse this remainder as an order of its own; a part fill ends here rather than rest as dust.
      current = closeOrder(current, 'cancelled', `remainder too small to trade: ${tooSmall}`, now);
      break;
    }
  }
  return fills.length > 0 ? { order: current, account, fills } : { order: current };
}
