import type { Decimal } from 'decimal.js';
import type { MarketRules } from './market.ts';
import type { OrderSide } from './order.ts';
import { Dec, FEE_DECIMALS, feeFor, roundAmountDown, roundPrice, toPlain, tryDecimal } from './precision.ts';

export interface SizingInput {
  rules: MarketRules;
  /** Base currency held now (spot, long-only: ≥ 0). */
  currentAmount: string;
  /** Wanted position value in the quote currency (≥ 0); "0" means flat. */
  targetValue: string;
  /** Reference price, e.g. the close of the decision candle. */
  price: number | string;
  /** Quote currency available to spend. */
  cash: string;
  /** How much worse than `price` the fill may be, in basis points; buys keep room for it. */
  slippageBps: number;
  /** Overrides rules.taker (market orders pay the taker rate). */
  feeRate?: string;
}

export type SizingResult = { side: OrderSide; amount: string } | { skip: string };

/** The most a fee can exceed notional × rate after rounding up to FEE_DECIMALS. */
const FEE_ROUNDING = new Dec(1).div(new Dec(10).pow(FEE_DECIMALS));

function positive(d: Decimal | undefined): d is Decimal {
  return d !== undefined && d.isPositive() && !d.isZero();
}

function nonNegative(d: Decimal | undefined): d is Decimal {
  return d !== undefined && !d.isNegative();
}

/**
 * The market order that moves the holding toward `targetValue`, or why there is none. Amounts are
 * rounded down to the step, so the order never overshoots the target, never sells more than is
 * held, and a buy never costs more than `cash` at the price plus slippage allowance plus fee.
 * Bad inputs give a skip, never NaN: sizing must say "no" when in doubt.
 */
export function orderForTarget(input: SizingInput): SizingResult {
  const { rules } = input;
  const price = tryDecimal(input.price);
  if (!positive(price)) return { skip: `reference price ${String(input.price)} is not a positive finite number` };
  const step = tryDecimal(rules.precision.amount);
  const tick = tryDecimal(rules.precision.price);
  if (!positive(step) || !positive(tick)) return { skip: `market ${rules.symbol} has no valid amount step or price tick` };
  const current = tryDecimal(input.currentAmount);
  if (!nonNegative(current)) return { skip: `current amount ${input.currentAmount} is not a non-negative number` };
  const target = tryDecimal(input.targetValue);
  if (!nonNegative(target)) return { skip: `target value ${input.targetValue} is not a non-negative number` };
  const cash = tryDecimal(input.cash);
  if (!nonNegative(cash)) return { skip: `cash ${input.cash} is not a non-negative number` };
  if (!Number.isFinite(input.slippageBps) || input.slippageBps < 0 || input.slippageBps >= 10_000) {
    return { skip: `slippage ${input.slippageBps} bps is not in [0, 10000)` };
  }
  const feeRate = tryDecimal(input.feeRate ?? rules.taker);
  if (!nonNegative(feeRate) || feeRate.gte(1)) return { skip: `fee rate ${input.feeRate ?? rules.taker} is not in [0, 1)` };
  const minAmount = tryDecimal(rules.limits.amount.min) ?? new Dec(0);
  const maxAmount = rules.limits.amount.max === undefined ? undefined : tryDecimal(rules.limits.amount.max);
  const minCost = tryDecimal(rules.limits.cost.min) ?? new Dec(0);
  const slip = new Dec(input.slippageBps).div(10_000);

  const delta = target.div(price).minus(current);
  if (delta.isZero()) return { skip: 'already at target' };

  let side: OrderSide;
  let amount: Decimal;
  if (delta.isPositive()) {
    side = 'buy';
    // The fill model rounds a buy's price up to the tick, so budget for that price.
    const worstPrice = roundPrice(price.times(slip.plus(1)), tick, 'up');
    const perUnit = worstPrice.times(feeRate.plus(1));
    const budget = Dec.max(cash.minus(FEE_ROUNDING), 0);
    const affordable = roundAmountDown(budget.div(perUnit), step);
    let wanted = roundAmountDown(delta, step);
    if (maxAmount !== undefined && maxAmount.isPositive()) wanted = Dec.min(wanted, roundAmountDown(maxAmount, step));
    if (wanted.isZero()) return { skip: `buying ${toPlain(delta)} is less than one amount step (${toPlain(step)})` };
    amount = Dec.min(wanted, affordable);
    // Belt and braces against division rounding: the worst-case total must fit in cash.
    const total = (a: Decimal) => a.times(worstPrice).plus(feeFor(a.times(worstPrice), feeRate));
    if (amount.isPositive() && total(amount).gt(cash)) amount = amount.minus(step);
    if (!amount.isPositive() || amount.isZero() || total(amount).gt(cash)) {
      return { skip: `cash ${toPlain(cash)} ${rules.quote} buys less than one step (${toPlain(step)}) at up to ${toPlain(worstPrice)} plus fee` };
    }
  } else {
    side = 'sell';
    let wanted = Dec.min(delta.negated(), current);
    if (maxAmount !== undefined && maxAmount.isPositive()) wanted = Dec.min(wanted, maxAmount);
    amount = roundAmountDown(wanted, step);
    if (amount.isZero()) return { skip: `selling ${toPlain(delta.negated())} is less than one amount step (${toPlain(step)})` };
  }

  if (amount.lt(minAmount)) {
    return { skip: `${side} ${toPlain(amount)} is below the market minimum amount ${toPlain(minAmount)}` };
  }
  // The lowest plausible fill price decides whether the exchange will accept the notional.
  const cost = amount.times(price).times(new Dec(1).minus(slip));
  if (cost.lt(minCost)) {
    return { skip: `${side} cost ~${toPlain(cost)} ${rules.quote} is below the market minimum cost ${toPlain(minCost)}` };
  }
  return { side, amount: toPlain(amount) };
}
