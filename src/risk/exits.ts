/**
 * The position monitor's rules, pure: given what is known about an open long position and the
 * latest candle, is it time to get out, and why. Checked on every candle of a held market,
 * before the bots' consensus; an exit is allowed in every trading state.
 */

export interface ExitRules {
  /** Exit when the close falls this fraction below the entry price (0 = off). */
  stopLoss: number;
  /** Exit when the close falls this many ATRs (taken at entry) below the entry price (0 = off). */
  atrStop: number;
  /** Exit when the close falls this fraction below the highest close since entry (0 = off). */
  trailingStop: number;
  /** Exit when the close rises this fraction above the entry price (0 = off). */
  takeProfit: number;
  /** Exit after holding this long, ms (0 = off). */
  maxHoldMs: number;
}

/** What the monitor remembers of an open position between candles. */
export interface PositionWatch {
  /** Candle time the position was first seen open. */
  entryTs: number;
  /** Average entry price (from the ledger). */
  entryPrice: number;
  /** Highest close since entry. */
  highWater: number;
  /** ATR when the position was first seen, price units; null if unknown then. */
  atrAtEntry: number | null;
}

export type ExitKind = 'stop-loss' | 'atr-stop' | 'trailing-stop' | 'take-profit' | 'time-exit';

export interface ExitSignal {
  kind: ExitKind;
  reason: string;
  /** Whether this exit counts as a stop-out for the losses gate (it closes at a loss). */
  stopOut: boolean;
}

/** The watch after one more candle: a new one for a position just seen, else the high-water mark moved up. */
export function watchPosition(previous: PositionWatch | undefined, entryPrice: number, candleTs: number, close: number, atr: number | null): PositionWatch {
  if (!previous) return { entryTs: candleTs, entryPrice, highWater: Math.max(close, entryPrice), atrAtEntry: atr };
  // An add to the position moves the average entry; the high-water mark stays (it only trails up).
  return { ...previous, entryPrice, highWater: Math.max(previous.highWater, close) };
}

/**
 * The first rule the candle breaks, in order of urgency: stops before profit-taking before time.
 * Null when the position should be held, or when the numbers are not finite (no exit on garbage:
 * the next good candle decides).
 */
export function checkExit(watch: PositionWatch, close: number, candleTs: number, rules: ExitRules): ExitSignal | null {
  const { entryPrice, highWater, atrAtEntry, entryTs } = watch;
  if (![close, entryPrice, highWater].every((x) => Number.isFinite(x) && x > 0)) return null;
  const change = close / entryPrice - 1;
  const shown = `${(change * 100).toFixed(2)}%`;
  if (rules.stopLoss > 0 && change <= -rules.stopLoss) {
    return { kind: 'stop-loss', stopOut: true, reason: `stop loss: close ${close} is ${shown} from entry ${entryPrice} (limit -${rules.stopLoss * 100}%)` };
  }
  if (rules.atrStop > 0 && atrAtEntry !== null && atrAtEntry > 0 && close <= entryPrice - rules.atrStop * atrAtEntry) {
    return { kind: 'atr-stop', stopOut: true, reason: `ATR stop: close ${close} below entry ${entryPrice} − ${rules.atrStop} × ATR ${atrAtEntry.toPrecision(4)}` };
  }
  if (rules.trailingStop > 0 && close <= highWater * (1 - rules.trailingStop)) {
    const fromHigh = `${((close / highWater - 1) * 100).toFixed(2)}%`;
    // A trailing stop above the entry locks in a gain; only one below it is a stop-out.
    return { kind: 'trailing-stop', stopOut: close < entryPrice, reason: `trailing stop: close ${close} is ${fromHigh} from the high ${highWater} (limit -${rules.trailingStop * 100}%)` };
  }
  if (rules.takeProfit > 0 && change >= rules.takeProfit) {
    return { kind: 'take-profit', stopOut: false, reason: `take profit: close ${close} is +${shown} from entry ${entryPrice} (target +${rules.takeProfit * 100}%)` };
  }
  if (rules.maxHoldMs > 0 && candleTs - entryTs >= rules.maxHoldMs) {
    return { kind: 'time-exit', stopOut: false, reason: `time exit: held ${Math.round((candleTs - entryTs) / 60_000)} minutes (limit ${Math.round(rules.maxHoldMs / 60_000)})` };
  }
  return null;
}
