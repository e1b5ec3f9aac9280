import { OBV, SMA } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  period: z.number().int().min(2).max(250).default(20).describe('Period of the SMA of on-balance volume'),
  threshold: z
    .number()
    .min(0)
    .max(1)
    .default(0.15)
    .describe('OBV must be this far from its SMA, as a share of the volume traded over the period, to count'),
});

export default defineBot({
  id: 'obv-trend',
  version: '1.0.0',
  description: 'Volume trend: buy while on-balance volume is well above its moving average (accumulation), sell while well below.',
  family: 'volume',
  params,
  warmup: (p) => p.period + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period + 1) return hold(`needs at least ${p.period + 1} candles, has ${n}`);
    // OBV's level depends on where it started, but OBV minus its own N-candle mean does not:
    // N values (and the candle before them, for the first direction) are all this needs.
    // The library's OBV counts from its second candle on, whatever its interval; 2 is the plain OBV.
    const obv = new OBV(2);
    const mean = new SMA(p.period);
    let volume = 0;
    for (let i = n - 1 - p.period; i < n; i++) {
      const value = obv.add({ open: candles.open[i]!, high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]!, volume: candles.volume[i]! });
      if (value === null) continue;
      mean.add(value);
      volume += candles.volume[i]!;
    }
    const last = obv.getResult();
    const average = mean.getResult();
    if (last === null || average === null) return hold('OBV not ready');
    if (!(volume > 0)) return hold(`no volume traded in ${p.period} candles`);
    // As a share of the period's volume, so markets of any size compare: ±0.5 is a steady one-way
    // flow, past that the last candles carried most of the volume.
    const gap = (last - average) / volume;
    if (!Number.isFinite(gap)) return hold('OBV gap is not finite');
    const confidence = clamp01(0.2 + 0.8 * Math.min(1, (Math.abs(gap) - p.threshold) / Math.max(0.5 - p.threshold, 0.1)));
    const shown = `OBV ${gap >= 0 ? 'above' : 'below'} its SMA${p.period} by ${(Math.abs(gap) * 100).toFixed(1)}% of the period's volume`;
    if (gap > p.threshold) return { action: 'buy', confidence, reason: `${shown}: accumulation` };
    if (gap < -p.threshold) return { action: 'sell', confidence, reason: `${shown}: distribution` };
    return hold(`${shown}: within ${(p.threshold * 100).toFixed(1)}%`);
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
