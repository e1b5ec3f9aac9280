import { RSI } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    period: z.number().int().min(2).max(99).default(14).describe('RSI period'),
    oversold: z.number().min(1).max(99).default(30).describe('RSI below this is oversold: buy'),
    overbought: z.number().min(1).max(99).default(70).describe('RSI above this is overbought: sell'),
  })
  .refine((p) => p.oversold < p.overbought, { message: 'oversold must be less than overbought', path: ['oversold'] });

export default defineBot({
  id: 'rsi-reversion',
  version: '1.0.0',
  description: 'Mean reversion: buy when RSI is oversold, sell when overbought; deeper is surer.',
  family: 'momentum',
  params,
  // Wilder smoothing remembers its seed for a long time; 3 periods make it settle.
  warmup: (p) => p.period * 3 + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period + 1) return hold(`needs at least ${p.period + 1} candles, has ${n}`);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = n - p.period - 1; i < n; i++) {
      lo = Math.min(lo, candles.close[i]!);
      hi = Math.max(hi, candles.close[i]!);
    }
    // The library reports 100 when there were no losses, which a flat market is not.
    if (hi === lo) return hold('price did not move');
    const rsi = new RSI(p.period);
    for (let i = 0; i < n; i++) rsi.add(candles.close[i]!);
    const value = rsi.getResult();
    if (value === null || !Number.isFinite(value)) return hold('RSI not ready');
    const shown = value.toFixed(1);
    if (value < p.oversold) {
      const depth = (p.oversold - value) / p.oversold;
      return { action: 'buy', confidence: clamp01(0.25 + 0.75 * depth), reason: `RSI${p.period} ${shown} < ${p.oversold} (oversold)` };
    }
    if (value > p.overbought) {
      const depth = (value - p.overbought) / (100 - p.overbought);
      return { action: 'sell', confidence: clamp01(0.25 + 0.75 * depth), reason: `RSI${p.period} ${shown} > ${p.overbought} (overbought)` };
    }
    return hold(`RSI${p.period} ${shown} between ${p.oversold} and ${p.overbought}`);
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
