import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

/** A relative gap of this size (1% of price) already earns nearly full confidence. */
const FULL_CONFIDENCE_GAP = 0.01;

const params = z
  .object({
    fast: z.number().int().min(2).max(99).default(9).describe('Period of the fast EMA'),
    slow: z.number().int().min(3).max(100).default(21).describe('Period of the slow EMA'),
    margin: z
      .number()
      .min(0)
      .max(0.1)
      .default(0.001)
      .describe('Relative gap (fast - slow) / slow past which the trend counts without a fresh cross'),
  })
  .refine((p) => p.fast < p.slow, { message: 'fast must be less than slow', path: ['fast'] });

export default defineBot({
  id: 'ema-crossover',
  version: '1.0.0',
  description: 'Trend following: buy while the fast EMA is above the slow one, sell while below.',
  family: 'trend',
  params,
  // EMAs here seed from the first price; 3 slow periods let that seed fade below 0.3%.
  warmup: (p) => p.slow * 3,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.slow + 1) return hold(`needs at least ${p.slow + 1} candles, has ${n}`);
    // The two EMAs by hand, in one pass over the closes: the same arithmetic as trading-signals'
    // EMA (seeded with the first price, price * k + previous * (1 - k)), so the same signals to the
    // last bit, without two indicator objects and their bookkeeping per call (5x the loop itself).
    const kFast = 2 / (p.fast + 1);
    const kSlow = 2 / (p.slow + 1);
    const close = candles.close;
    let f = close[0]! * kFast + close[0]! * (1 - kFast);
    let s = close[0]! * kSlow + close[0]! * (1 - kSlow);
    let prevFast = f;
    let prevSlow = s;
    for (let i = 1; i < n; i++) {
      prevFast = f;
      prevSlow = s;
      f = close[i]! * kFast + f * (1 - kFast);
      s = close[i]! * kSlow + s * (1 - kSlow);
    }
    if (!(s > 0)) return hold('EMAs not ready');
    const gap = (f - s) / s;
    if (!Number.isFinite(gap)) return hold('EMA gap is not finite');
    const crossedUp = prevFast <= prevSlow && f > s;
    const crossedDown = prevFast >= prevSlow && f < s;
    const confidence = 0.2 + 0.8 * Math.tanh(Math.abs(gap) / FULL_CONFIDENCE_GAP);
    const pct = (gap * 100).toFixed(3);
    if (crossedUp || gap > p.margin) {
      return { action: 'buy', confidence, reason: `EMA${p.fast} ${crossedUp ? 'crossed above' : 'above'} EMA${p.slow} by ${pct}%` };
    }
    if (crossedDown || gap < -p.margin) {
      return { action: 'sell', confidence, reason: `EMA${p.fast} ${crossedDown ? 'crossed below' : 'below'} EMA${p.slow} by ${pct}%` };
    }
    return hold(`EMA${p.fast} within ${(p.margin * 100).toFixed(3)}% of EMA${p.slow} (${pct}%)`);
  },
});
