import { CCI } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    period: z.number().int().min(2).max(100).default(20).describe('Candles of the typical-price mean and mean deviation'),
    threshold: z.number().min(10).max(500).default(100).describe('CCI above +threshold is a buy, below -threshold a sell'),
    extreme: z.number().min(20).max(1000).default(250).describe('|CCI| at which confidence is full'),
  })
  .refine((p) => p.threshold < p.extreme, { message: 'threshold must be less than extreme', path: ['threshold'] });

export default defineBot({
  id: 'cci',
  version: '1.0.0',
  description: "Momentum: Lambert's CCI trend entry, buy while CCI is above +100 and sell while below -100; further out is surer.",
  family: 'momentum',
  params,
  // CCI only looks back one period; one more candle gives the previous value to tell rising from falling.
  warmup: (p) => p.period + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = p.period + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = n - p.period; i < n; i++) {
      lo = Math.min(lo, candles.low[i]!);
      hi = Math.max(hi, candles.high[i]!);
    }
    // With no range the mean deviation is 0 (0/0) or rounding noise, which would read as ±66.7.
    if (hi === lo) return hold(`price did not move over ${p.period} candles`);
    const cci = new CCI(p.period);
    let prev: number | null = null;
    for (let i = n - need; i < n; i++) {
      if (i === n - 1) prev = cci.getResult();
      cci.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    }
    const now = cci.getResult();
    if (now === null || prev === null) return hold('CCI not ready');
    if (!Number.isFinite(now)) return hold('CCI is not finite');
    // The candle before may have had no range of its own window: then this is a fresh reading.
    const before = Number.isFinite(prev) ? prev : 0;
    const shown = `CCI${p.period} ${now.toFixed(1)}`;
    if (Math.abs(now) <= p.threshold) return hold(`${shown} within ±${p.threshold}`);
    const side = Math.sign(now);
    const crossed = side * before <= p.threshold;
    const strength = Math.min(1, (Math.abs(now) - p.threshold) / (p.extreme - p.threshold));
    // Still pushing further out is a move with force; easing back is one running out of it.
    const pushing = side * (now - before) >= 0;
    const confidence = clamp01((0.3 + 0.7 * strength) * (pushing ? 1 : 0.75));
    const how = crossed ? `crossed ${side > 0 ? 'above' : 'below'}` : `${side > 0 ? 'above' : 'below'}`;
    return {
      action: side > 0 ? 'buy' : 'sell',
      confidence,
      reason: `${shown} ${how} ${side > 0 ? '+' : '-'}${p.threshold}, ${pushing ? 'still pushing' : 'easing back'}`,
    };
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
