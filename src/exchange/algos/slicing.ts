/**
 * Execution algorithms, the pure part: how a large intent is cut into child orders.
 *
 * - TWAP: `slices` equal children on the market's amount step, one every `intervalMs`.
 * - Iceberg: children of `visibleShare` of the parent, sent one after another, each when the
 *   previous one has filled, so only one child is ever visible on the book.
 *
 * Every plan obeys the same invariants, whatever the input: the children's amounts sum exactly
 * (decimal, not floating point) to the parent's amount; every child is a positive multiple of the
 * amount step and meets the market's minimum amount and minimum cost; there are at most
 * MAX_CHILDREN children; every child has its own deterministic client order id. When the
 * minimums allow fewer children than configured, the plan has fewer (and says so in `note`); when
 * they allow only one, the plan is 'none' and the parent is sent whole.
 *
 * No I/O, no clock, no randomness: the same input always gives the same plan, so a retried job
 * re-derives the same children with the same ids, and the venue deduplicates them.
 */
import { createHash } from 'node:crypto';
import type { Decimal } from 'decimal.js';
import type { MarketRules } from '../../core/market.ts';
import { CLIENT_ORDER_ID_MAX_LENGTH, CLIENT_ORDER_ID_PATTERN, type OrderIntent } from '../../core/order.ts';
import { Dec, toPlain, tryDecimal } from '../../core/precision.ts';

/** The most children one parent may have: beyond this, TWAP settings are refused and icebergs use bigger children. */
export const MAX_CHILDREN = 1000;
/** The largest index childClientOrderId accepts (six digits keep every id within 36 chars). */
export const MAX_CHILD_INDEX = 999_999;

export interface AlgoSettings {
  kind: 'twap' | 'iceberg';
  /** Notional (amount × refPrice, quote currency) above which an intent is sliced; at or below it, it is sent whole. */
  thresholdQuote: string;
  /** TWAP: number of slices, an integer in [1, MAX_CHILDREN]; 1 means never slice. */
  slices: number;
  /** TWAP: time between slices, ms (an integer ≥ 0). */
  intervalMs: number;
  /** Iceberg: visible share of the parent per child, in (0, 1]; 1 means never slice. */
  visibleShare: number;
}

export interface ChildPlan {
  /** 0, 1, 2, ... in the order the children are sent. */
  index: number;
  clientOrderId: string;
  /** Decimal string on the market's amount step. */
  amount: string;
  /**
   * ms after the parent's start when this child may be sent. TWAP: index × intervalMs. Iceberg: 0
   * for every child, because iceberg children are not timed: each is sent as soon as the previous
   * one has filled (the executor enforces that order; the offset only says "no extra wait").
   */
  offsetMs: number;
}

export interface SlicePlan {
  algo: 'twap' | 'iceberg' | 'none';
  /** Empty when algo is 'none': the parent is sent as it is. */
  children: ChildPlan[];
  /** Why the plan differs from what the settings asked for (fewer slices, bigger children, not sliced). */
  note?: string;
}

// ---------------------------------------------------------------------------------------------
// Child client order ids

const CHILD_HASH_CHARS = 20; // 80 bits, as clientOrderIdFor: collisions are out of reach.
const SIDE_PREFIX = /^q[bs]-/;

/**
 * The client order id of child `index` of `parentClientOrderId`: deterministic (a retried job
 * places the same children), distinct per index by construction (the index is spelled out in the
 * id), and distinct across parents through an 80-bit hash of (parent, index). Shaped
 * "qb-ADABTC-c3-<hash>": it keeps the parent's "qb-" / "qs-" side prefix and readable symbol,
 * then "c" and the child's index. At most 36 chars of [A-Za-z0-9_-]; never the parent's id (a
 * parent from clientOrderIdFor has no "-c<index>-" part, and any other equality would need the
 * parent to contain the hash of itself).
 */
export function childClientOrderId(parentClientOrderId: string, index: number): string {
  if (typeof parentClientOrderId !== 'string' || !CLIENT_ORDER_ID_PATTERN.test(parentClientOrderId)) {
    throw new Error(`childClientOrderId: parentClientOrderId must be 1 to 36 chars of [A-Za-z0-9_-], got ${JSON.stringify(parentClientOrderId)}`);
  }
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_CHILD_INDEX) {
    throw new Error(`childClientOrderId: index must be an integer in [0, ${MAX_CHILD_INDEX}], got ${index}`);
  }
  const prefix = SIDE_PREFIX.exec(parentClientOrderId)?.[0] ?? '';
  const rest = parentClientOrderId.slice(prefix.length);
  // "ADABTC-<hash>" → "ADABTC": the readable part of a clientOrderIdFor id; any other id keeps its first segment.
  const label = (rest.split('-')[0] ?? '').replace(/[^A-Za-z0-9]/g, '');
  const hash = createHash('sha256').update(JSON.stringify(['child-v1', parentClientOrderId, index])).digest('hex').slice(0, CHILD_HASH_CHARS);
  const tail = `c${index}-${hash}`;
  const room = CLIENT_ORDER_ID_MAX_LENGTH - prefix.length - tail.length - 1; // 1 = the "-" after the label
  const shown = room > 0 ? label.slice(0, room) : '';
  return shown.length > 0 ? `${prefix}${shown}-${tail}` : `${prefix}${tail}`;
}

// ---------------------------------------------------------------------------------------------
// Settings

/** Throws an Error naming the first invalid field of `settings`. All fields are checked whatever the kind. */
export function validateAlgoSettings(settings: AlgoSettings): void {
  if (typeof settings !== 'object' || settings === null) throw new Error('algo settings must be an object');
  if (settings.kind !== 'twap' && settings.kind !== 'iceberg') {
    throw new Error(`algo settings: kind must be "twap" or "iceberg", got ${JSON.stringify(settings.kind)}`);
  }
  const threshold = typeof settings.thresholdQuote === 'string' ? tryDecimal(settings.thresholdQuote) : undefined;
  if (threshold === undefined || threshold.isNegative()) {
    throw new Error(`algo settings: thresholdQuote must be a non-negative decimal string, got ${JSON.stringify(settings.thresholdQuote)}`);
  }
  if (!Number.isSafeInteger(settings.slices) || settings.slices < 1 || settings.slices > MAX_CHILDREN) {
    throw new Error(`algo settings: slices must be an integer in [1, ${MAX_CHILDREN}], got ${String(settings.slices)}`);
  }
  if (!Number.isSafeInteger(settings.intervalMs) || settings.intervalMs < 0 || !Number.isSafeInteger(settings.intervalMs * (settings.slices - 1))) {
    throw new Error(`algo settings: intervalMs must be an integer ≥ 0 (ms) with (slices − 1) × intervalMs a safe integer, got ${String(settings.intervalMs)}`);
  }
  const share = settings.visibleShare;
  if (typeof share !== 'number' || !Number.isFinite(share) || share <= 0 || share > 1) {
    throw new Error(`algo settings: visibleShare must be a number in (0, 1], got ${String(share)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Planning

function positive(d: Decimal | undefined): d is Decimal {
  return d !== undefined && d.isPositive() && !d.isZero();
}

/**
 * How a parent is sliced, if at all.
 *
 * `refPrice` is the reference price (e.g. the decision candle's close); it decides the notional
 * compared with `thresholdQuote`, and the minimum-cost check of each child. For a limit intent the
 * minimum cost is checked at the lower of refPrice and the limit price, which is what the venue
 * will see for a limit order below the market.
 *
 * `settings` undefined means no algo is configured: algo 'none'. Invalid settings, an invalid
 * reference price, market step, or an intent amount that is not a positive multiple of the step
 * (intents are rounded before execution) are bugs upstream and throw an Error naming the field.
 */
export function planSlices(intent: OrderIntent, refPrice: string, rules: MarketRules, settings: AlgoSettings | undefined): SlicePlan {
  if (settings === undefined) return { algo: 'none', children: [] };
  validateAlgoSettings(settings);
  if (!CLIENT_ORDER_ID_PATTERN.test(intent.clientOrderId)) {
    throw new Error(`planSlices: intent.clientOrderId must be 1 to 36 chars of [A-Za-z0-9_-], got ${JSON.stringify(intent.clientOrderId)}`);
  }
  const price = typeof refPrice === 'string' ? tryDecimal(refPrice) : undefined;
  if (!positive(price)) throw new Error(`planSlices: refPrice must be a positive decimal string, got ${JSON.stringify(refPrice)}`);
  const step = tryDecimal(rules.precision.amount);
  if (!positive(step)) throw new Error(`planSlices: rules.precision.amount of ${rules.symbol} must be a positive step, got ${JSON.stringify(rules.precision.amount)}`);
  const amount = typeof intent.amount === 'string' ? tryDecimal(intent.amount) : undefined;
  if (!positive(amount)) throw new Error(`planSlices: intent.amount must be a positive decimal string, got ${JSON.stringify(intent.amount)}`);
  const units = amount.div(step);
  if (!units.isInteger()) {
    throw new Error(`planSlices: intent.amount ${intent.amount} is not a multiple of the amount step ${toPlain(step)} of ${rules.symbol}`);
  }
  let costPrice = price;
  if (intent.type === 'limit') {
    const limit = tryDecimal(intent.price);
    if (!positive(limit)) throw new Error(`planSlices: intent.price must be a positive decimal string, got ${JSON.stringify(intent.price)}`);
    costPrice = Dec.min(price, limit);
  }

  const notional = amount.times(price);
  const threshold = new Dec(settings.thresholdQuote);
  if (notional.lte(threshold)) return { algo: 'none', children: [] };

  // The smallest child, in steps, that the venue accepts: minimum amount and minimum cost.
  const minAmount = tryDecimal(rules.limits.amount.min) ?? new Dec(0);
  const minCost = tryDecimal(rules.limits.cost.min) ?? new Dec(0);
  let minUnits = Dec.max(1, minAmount.div(step).ceil(), minCost.div(costPrice.times(step)).ceil());
  // Belt and braces against division rounding: the minimum child must pass the checks as written.
  while (minUnits.times(step).lt(minAmount) || minUnits.times(step).times(costPrice).lt(minCost)) minUnits = minUnits.plus(1);

  const what = `${intent.amount} ${rules.base} (${toPlain(notional)} ${rules.quote})`;
  if (units.lt(minUnits.times(2))) {
    return {
      algo: 'none',
      children: [],
      note: `${what} cannot be split into two children of at least ${toPlain(minUnits.times(step))} ${rules.base} (market minimum amount ${toPlain(minAmount)}, minimum cost ${toPlain(minCost)} ${rules.quote} at ${toPlain(costPrice)}): sent whole`,
    };
  }

  // Sizes in steps; the plan is [child × count, last]. `last` carries the remainder.
  let childUnits: Decimal;
  let count: number;
  let note: string | undefined;
  if (settings.kind === 'twap') {
    if (settings.slices === 1) return { algo: 'none', children: [], note: 'TWAP with slices = 1: sent whole' };
    // Largest n ≤ slices with floor(units / n) ≥ minUnits, i.e. n ≤ units / minUnits.
    const n = Math.min(settings.slices, units.divToInt(minUnits).toNumber());
    if (n < settings.slices) {
      note = `${what} allows only ${n} of ${settings.slices} slices at the market minimum of ${toPlain(minUnits.times(step))} ${rules.base} per slice`;
    }
    childUnits = units.divToInt(n);
    count = n;
  } else {
    let visible = Dec.max(units.times(settings.visibleShare).floor(), minUnits);
    if (visible.gt(units.times(settings.visibleShare).floor())) {
      note = `iceberg children raised to the market minimum of ${toPlain(visible.times(step))} ${rules.base}`;
    }
    const capped = units.div(MAX_CHILDREN).ceil();
    if (visible.lt(capped)) {
      visible = capped;
      note = `iceberg children raised to ${toPlain(visible.times(step))} ${rules.base} to stay within ${MAX_CHILDREN} children`;
    }
    if (visible.gte(units)) return { algo: 'none', children: [], note: `iceberg visible share ${settings.visibleShare} of ${what} is the whole order: sent whole` };
    const full = units.divToInt(visible);
    const rest = units.minus(full.times(visible));
    // The remainder is its own (smaller) child when the venue accepts it, else it joins the last child.
    count = full.toNumber() + (rest.gte(minUnits) ? 1 : 0);
    childUnits = visible;
    if (count < 2) {
      return { algo: 'none', children: [], note: `iceberg children of ${toPlain(visible.times(step))} ${rules.base} leave a remainder below the market minimum: ${what} sent whole` };
    }
  }

  const lastUnits = units.minus(childUnits.times(count - 1));
  const children: ChildPlan[] = [];
  for (let i = 0; i < count; i++) {
    const a = i === count - 1 ? lastUnits : childUnits;
    children.push({
      index: i,
      clientOrderId: childClientOrderId(intent.clientOrderId, i),
      amount: toPlain(a.times(step)),
      offsetMs: settings.kind === 'twap' ? i * settings.intervalMs : 0,
    });
  }
  return note === undefined ? { algo: settings.kind, children } : { algo: settings.kind, children, note };
}
