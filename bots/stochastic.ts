import { StochasticOscillator, type StochasticResult } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    kPeriod: z.number().int().min(2).max(100).default(14).describe('Candles whose high-low range %K places the close in'),
    slowing: z.number().int().min(1).max(20).default(3).describe('SMA period that smooths the raw %K'),
    dPeriod: z.number().int().min(1).max(20).default(3).describe('SMA period of %K that is %D'),
    oversold: z.number().min(1).max(99).default(20).describe('%D below this is oversold: buy once %K turns up through %D'),
    overbought: z.number().min(1).max(99).default(80).describe('%D above this is overbought: sell once %K turns down through %D'),
  })
  .refine((p) => p.oversold < p.overbought, { message: 'oversold must be less than overbought', path: ['oversold'] });

export default defineBot({
  id: 'stochastic',
  version: '1.0.0',
  description: 'Momentum: buy when the stochastic is oversold and %K turns up above %D, sell when overbought and %K turns down.',
  family: 'momentum',
  params,
  warmup: (p) => p.kPeriod + p.slowing + p.dPeriod,
  analyze({ candles, params: p }) {
    const n = candles.length;
    // The last two %D values need this many candles; the oscillator has no memory beyond them.
    const need = p.kPeriod + p.slowing + p.dPeriod - 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    // The library reads a window with no range as %K 0 (deeply oversold), which a still market is not.
    for (let end = n - p.slowing - p.dPeriod + 1; end <= n; end++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = end - p.kPeriod; i < end; i++) {
        lo = Math.min(lo, candles.low[i]!);
        hi = Math.max(hi, candles.high[i]!);
      }
      if (hi === lo) return hold(`price did not move over ${p.kPeriod} candles`);
    }
    const stoch = new StochasticOscillator({ kPeriod: p.kPeriod, kSlowingPeriod: p.slowing, dPeriod: p.dPeriod });
    let prev: StochasticResult | null = null;
    for (let i = n - need; i < n; i++) {
      if (i === n - 1) prev = stoch.getResult();
      stoch.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    }
    const now = stoch.getResult();
    if (now === null || prev === null) return hold('stochastic not ready');
    const { stochK: k, stochD: d } = now;
    if (!Number.isFinite(k) || !Number.isFinite(d)) return hold('stochastic is not finite');
    const shown = `%K ${k.toFixed(1)}, %D ${d.toFixed(1)}`;
    if (d < p.oversold) {
      if (k <= d) return hold(`${shown}: oversold, %K not yet turned up through %D`);
      const crossed = prev.stochK <= prev.stochD;
      const depth = (p.oversold - d) / p.oversold;
      // The cross itself is the trigger; deeper in the zone, more room to bounce.
      const confidence = clamp01(0.25 + 0.5 * depth + (crossed ? 0.25 : 0));
      return { action: 'buy', confidence, reason: `${shown}: %K ${crossed ? 'crossed above' : 'above'} %D under ${p.oversold} (oversold)` };
    }
    if (d > p.overbought) {
      if (k >= d) return hold(`${shown}: overbought, %K not yet turned down through %D`);
      const crossed = prev.stochK >= prev.stochD;
      const depth = (d - p.overbought) / (100 - p.overbought);
      const confidence = clamp01(0.25 + 0.5 * depth + (crossed ? 0.25 : 0));
      return { action: 'sell', confidence, reason: `${shown}: %K ${crossed ? 'crossed below' : 'below'} %D over ${p.overbought} (overbought)` };
    }
    return hold(`${shown}: %D between ${p.oversold} and ${p.overbought}`);
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
