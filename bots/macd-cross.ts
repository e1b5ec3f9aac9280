import { ATR, EMA, MACD } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

/** Volatility yardstick for the histogram: a histogram of this many ATRs is already a strong push. */
const ATR_PERIOD = 14;
const FULL_CONFIDENCE_ATRS = 0.25;

const params = z
  .object({
    fast: z.number().int().min(2).max(79).default(12).describe('Period of the fast EMA of the MACD line'),
    slow: z.number().int().min(3).max(80).default(26).describe('Period of the slow EMA of the MACD line'),
    signal: z.number().int().min(2).max(50).default(9).describe('Period of the EMA of the MACD line that is the signal line'),
  })
  .refine((p) => p.fast < p.slow, { message: 'fast must be less than slow', path: ['fast'] });

export default defineBot({
  id: 'macd-cross',
  version: '1.0.0',
  description: 'Trend following: buy while the MACD line pulls away above its signal line (histogram widening), sell below.',
  family: 'trend',
  params,
  // The EMAs seed from the first price; 3 slow periods let the seed fade, then the signal line needs its own.
  warmup: (p) => p.slow * 3 + p.signal,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = Math.max(p.slow + p.signal, ATR_PERIOD) + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    const macd = new MACD(new EMA(p.fast), new EMA(p.slow), new EMA(p.signal));
    const atr = new ATR(ATR_PERIOD);
    let prev: number | null = null;
    for (let i = 0; i < n; i++) {
      if (i === n - 1) prev = macd.getResult()?.histogram ?? null;
      macd.add(candles.close[i]!);
      atr.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    }
    const now = macd.getResult();
    const range = atr.getResult();
    if (now === null || prev === null || range === null) return hold('MACD not ready');
    // A market that did not move has no histogram to read, only rounding.
    if (!(range > 0)) return hold('price did not move');
    const { histogram: h, macd: line } = now;
    const strength = h / range;
    if (!Number.isFinite(strength) || !Number.isFinite(prev)) return hold('MACD histogram is not finite');
    const side = Math.sign(h);
    if (side === 0) return hold('MACD line on its signal line');
    const shown = `histogram ${strength.toFixed(3)} ATR`;
    // A shrinking histogram is momentum fading towards a cross the other way: not a time to join.
    if (side * (h - prev) <= 0) return hold(`MACD ${side > 0 ? 'above' : 'below'} its signal line but ${shown} is narrowing`);
    const crossed = side * prev <= 0;
    // The MACD line on the same side of zero means the trend itself agrees, not just a bounce inside it.
    const zeroAgrees = side * line > 0;
    const confidence = clamp01(0.2 + 0.6 * Math.tanh(Math.abs(strength) / FULL_CONFIDENCE_ATRS) + (zeroAgrees ? 0.2 : 0));
    const how = crossed ? `crossed ${side > 0 ? 'above' : 'below'}` : `widening ${side > 0 ? 'above' : 'below'}`;
    const reason = `MACD(${p.fast},${p.slow},${p.signal}) ${how} its signal line, ${shown}, MACD ${zeroAgrees ? 'agrees with' : 'against'} zero line`;
    return { action: side > 0 ? 'buy' : 'sell', confidence, reason };
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
