import { Decimal } from 'decimal.js';

/**
 * decimal.js rounds every result to 20 significant digits by default, which silently loses
 * money on products such as amount × price × fee rate. 100 digits keeps all our products exact;
 * instances share Decimal's prototype, so they are ordinary `Decimal`s to callers.
 */
export const Dec = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -100, toExpPos: 100 });

/** Fees are charged in the quote currency and rounded up to this many places (satoshis for BTC). */
export const FEE_DECIMALS = 8;

export type RoundingMode = 'up' | 'down' | 'nearest';

/** decimal.js also parses hex, octal and binary ("0x10"): money strings must be plain decimals. */
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseDecimal(value: Decimal.Value): Decimal {
  if (typeof value === 'string' && !DECIMAL_TEXT.test(value)) throw new Error('not decimal notation');
  return new Dec(value);
}

/** Parses a finite decimal, throwing an error that names `what` otherwise (never NaN, never Infinity). */
export function toDecimal(value: Decimal.Value, what = 'value'): Decimal {
  let d: Decimal;
  try {
    d = parseDecimal(value);
  } catch {
    throw new Error(`${what} must be a finite decimal number, got ${JSON.stringify(String(value))}`);
  }
  if (!d.isFinite()) throw new Error(`${what} must be a finite decimal number, got ${String(value)}`);
  return d;
}

/** Like toDecimal, but returns undefined instead of throwing: for decision code that skips rather than fails. */
export function tryDecimal(value: unknown): Decimal | undefined {
  if (typeof value !== 'string' && typeof value !== 'number' && !Decimal.isDecimal(value)) return undefined;
  try {
    const d = parseDecimal(value as Decimal.Value);
    return d.isFinite() ? d : undefined;
  } catch {
    return undefined;
  }
}

/** A decimal as a plain string: no exponent ("1e-8" would break string comparisons and some APIs), no "-0". */
export function toPlain(value: Decimal): string {
  if (!value.isFinite()) throw new Error(`refusing to serialise a non-finite decimal (${value.toString()})`);
  return value.isZero() ? '0' : value.toFixed();
}

function toStep(step: Decimal.Value): Decimal {
  const d = tryDecimal(step);
  if (d === undefined || !d.isPositive() || d.isZero()) {
    throw new Error(`step size must be a positive finite number, got ${JSON.stringify(String(step))}`);
  }
  return d;
}

/**
 * Truncates `amount` to a multiple of `step` (ccxt TICK_SIZE precision mode, TRUNCATE), toward
 * zero, so the result never exceeds what was asked for.
 */
export function roundAmountDown(amount: Decimal.Value, step: Decimal.Value): Decimal {
  const s = toStep(step);
  return toDecimal(amount, 'amount').divToInt(s).times(s);
}

/** Rounds `price` to a multiple of the tick `step`: 'up' and 'down' toward ±Infinity, 'nearest' half up. */
export function roundPrice(price: Decimal.Value, step: Decimal.Value, mode: RoundingMode): Decimal {
  const s = toStep(step);
  const p = toDecimal(price, 'price');
  const rounding = mode === 'up' ? Decimal.ROUND_CEIL : mode === 'down' ? Decimal.ROUND_FLOOR : Decimal.ROUND_HALF_UP;
  // The quotient is computed to 100 digits; it can only be off an integer when the exact one is too.
  return p.div(s).toDecimalPlaces(0, rounding).times(s);
}

export function isMultipleOf(value: Decimal.Value, step: Decimal.Value): boolean {
  const s = toStep(step);
  const v = toDecimal(value);
  return v.minus(v.divToInt(s).times(s)).isZero();
}

/** notional × rate, rounded up to FEE_DECIMALS: the exchange never charges less than the exact fee. */
export function feeFor(notional: Decimal.Value, rate: Decimal.Value): Decimal {
  return toDecimal(notional, 'notional').times(toDecimal(rate, 'fee rate')).toDecimalPlaces(FEE_DECIMALS, Decimal.ROUND_UP);
}
