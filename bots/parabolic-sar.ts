import type { CandleWindow } from '../src/core/candle.ts';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

/** Candles of mean high-low range that the close's distance from the SAR is measured in. */
const RANGE_PERIOD = 14;

const params = z
  .object({
    step: z.number().min(0.001).max(0.2).default(0.02).describe('Acceleration factor at a reversal, and its increment per new extreme'),
    max: z.number().min(0.01).max(1).default(0.2).describe('Largest acceleration factor'),
  })
  .refine((p) => p.step < p.max, { message: 'step must be less than max', path: ['step'] });

export default defineBot({
  id: 'parabolic-sar',
  version: '1.0.0',
  description: "Trend following: buy while price rides above Wilder's Parabolic SAR, sell while below; a fresh reversal is surest.",
  family: 'trend',
  params,
  // SAR forgets its arbitrary start after a reversal or two; at 1/step candles the factor could have maxed out.
  warmup: (p) => Math.min(300, Math.max(RANGE_PERIOD + 1, Math.ceil(1 / p.step))),
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = RANGE_PERIOD + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, candles.low[i]!);
      hi = Math.max(hi, candles.high[i]!);
    }
    if (hi === lo) return hold('price did not move');
    const sar = parabolicSar(candles, p.step, p.max);
    const close = candles.close[n - 1]!;
    let meanRange = 0;
    for (let i = n - RANGE_PERIOD; i < n; i++) meanRange += (candles.high[i]! - candles.low[i]!) / RANGE_PERIOD;
    const gap = sar.long ? close - sar.sar : sar.sar - close;
    if (!Number.isFinite(gap) || gap <= 0) return hold(`close ${close.toPrecision(6)} on the SAR ${sar.sar.toPrecision(6)}`);
    const distance = meanRange > 0 ? gap / meanRange : 1;
    const fresh = sar.since === 0;
    // Room between price and its stop is a trend with slack; a reversal on this candle is the classic entry.
    const confidence = clamp01(0.2 + 0.5 * Math.tanh(distance / 2) + (fresh ? 0.3 : 0));
    const how = fresh ? 'reversed' : `reversed ${sar.since} candle${sar.since > 1 ? 's' : ''} ago`;
    const reason = `close ${close.toPrecision(6)} ${sar.long ? 'above' : 'below'} SAR ${sar.sar.toPrecision(6)} (${how}, AF ${sar.af.toFixed(3)}, ${distance.toFixed(2)} ranges away)`;
    return { action: sar.long ? 'buy' : 'sell', confidence, reason };
  },
});

interface SarState {
  /** The stop for the last candle. */
  sar: number;
  long: boolean;
  af: number;
  /** Candles since the last reversal; 0 when it reversed on the last candle. */
  since: number;
}

/**
 * Wilder's Parabolic SAR over the whole window. Written here because trading-signals' PSAR puts the
 * stop an absolute 0.01 below the low on some reversals, which is meaningless at BTC-quoted prices like 1e-5.
 */
function parabolicSar(w: CandleWindow, step: number, max: number): SarState {
  const n = w.length;
  // Start in the direction of the first two candles' midpoints, stopped at the first candle's far side.
  let long = (w.high[1]! + w.low[1]!) >= (w.high[0]! + w.low[0]!);
  let sar = long ? Math.min(w.low[0]!, w.low[1]!) : Math.max(w.high[0]!, w.high[1]!);
  let ep = long ? Math.max(w.high[0]!, w.high[1]!) : Math.min(w.low[0]!, w.low[1]!);
  let af = step;
  let since = 1;
  for (let i = 2; i < n; i++) {
    const high = w.high[i]!;
    const low = w.low[i]!;
    let next = sar + af * (ep - sar);
    since++;
    if (long) {
      // The stop may never sit inside the previous two candles' range.
      next = Math.min(next, w.low[i - 1]!, w.low[i - 2]!);
      if (low < next) {
        long = false;
        next = ep;
        ep = low;
        af = step;
        since = 0;
      } else if (high > ep) {
        ep = high;
        af = Math.min(max, af + step);
      }
    } else {
      next = Math.max(next, w.high[i - 1]!, w.high[i - 2]!);
      if (high > next) {
        long = true;
        next = ep;
        ep = high;
        af = step;
        since = 0;
      } else if (low < ep) {
        ep = low;
        af = Math.min(max, af + step);
      }
    }
    sar = next;
  }
  return { sar, long, af, since };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
