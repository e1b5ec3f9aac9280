import { MFI } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    period: z.number().int().min(2).max(99).default(14).describe('MFI period'),
    oversold: z.number().min(1).max(99).default(20).describe('MFI below this is oversold: buy'),
    overbought: z.number().min(1).max(99).default(80).describe('MFI above this is overbought: sell'),
  })
  .refine((p) => p.oversold < p.overbought, { message: 'oversold must be less than overbought', path: ['oversold'] });

export default defineBot({
  id: 'money-flow',
  version: '1.0.0',
  description: 'Volume-weighted reversion: buy when the Money Flow Index is oversold, sell when overbought; deeper is surer.',
  family: 'volume',
  params,
  warmup: (p) => p.period + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period + 1) return hold(`needs at least ${p.period + 1} candles, has ${n}`);
    // MFI has no memory: the last N flows (N+1 candles) are all it needs.
    let volume = 0;
    const mfi = new MFI(p.period);
    for (let i = n - p.period - 1; i < n; i++) {
      mfi.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]!, volume: candles.volume[i]! });
      if (i > n - p.period - 1) volume += candles.volume[i]!;
    }
    // The library reports a neutral 50 when no money flowed, which says nothing either way.
    if (!(volume > 0)) return hold(`no volume traded in ${p.period} candles`);
    const value = mfi.getResult();
    if (value === null || !Number.isFinite(value)) return hold('MFI not ready');
    const shown = value.toFixed(1);
    if (value < p.oversold) {
      const depth = (p.oversold - value) / p.oversold;
      return { action: 'buy', confidence: clamp01(0.25 + 0.75 * depth), reason: `MFI${p.period} ${shown} < ${p.oversold} (oversold)` };
    }
    if (value > p.overbought) {
      const depth = (value - p.overbought) / (100 - p.overbought);
      return { action: 'sell', confidence: clamp01(0.25 + 0.75 * depth), reason: `MFI${p.period} ${shown} > ${p.overbought} (overbought)` };
    }
    return hold(`MFI${p.period} ${shown} between ${p.oversold} and ${p.overbought}`);
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
