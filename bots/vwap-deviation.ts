import { VWAP } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  period: z.number().int().min(2).max(250).default(48).describe('Candles in the rolling VWAP, the last one included'),
  bands: z.number().min(0.5).max(10).default(2).describe('Deviation from VWAP, in volume-weighted standard deviations, past which the close is faded'),
  minDeviation: z
    .number()
    .min(0)
    .max(0.5)
    .default(0.002)
    .describe('The close must also be at least this far from VWAP, relative to it, so a quiet market does not trade on noise'),
});

export default defineBot({
  id: 'vwap-deviation',
  version: '1.0.0',
  description: 'Volume-weighted mean reversion: buy a close well below the rolling N-candle VWAP, sell one well above.',
  family: 'volume',
  params,
  warmup: (p) => p.period,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period) return hold(`needs at least ${p.period} candles, has ${n}`);
    // The library's VWAP is anchored (cumulative from its first candle); a fresh one fed the last
    // N candles is the rolling VWAP. It skips candles without volume.
    const vwap = new VWAP();
    for (let i = n - p.period; i < n; i++) vwap.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]!, volume: candles.volume[i]! });
    const mean = vwap.getResult();
    if (mean === null || !(mean > 0)) return hold(`no volume traded in ${p.period} candles`);
    // The library has no VWAP bands: the volume-weighted deviation around it, here. Of closes, not
    // typical prices: the close is what is compared, and typical prices average its swings away.
    let weighted = 0;
    let volume = 0;
    for (let i = n - p.period; i < n; i++) {
      const v = candles.volume[i]!;
      const d = candles.close[i]! - mean;
      weighted += v * d * d;
      volume += v;
    }
    const sd = Math.sqrt(weighted / volume);
    if (!(sd > mean * 1e-9)) return hold(`price did not move around VWAP${p.period} ${fmt(mean)}`);
    const close = candles.close[n - 1]!;
    const zscore = (close - mean) / sd;
    const deviation = (close - mean) / mean;
    if (!Number.isFinite(zscore) || !Number.isFinite(deviation)) return hold('deviation is not finite');
    const shown = `close ${fmt(close)} is ${(deviation * 100).toFixed(2)}% (${zscore.toFixed(2)} sd) from VWAP${p.period} ${fmt(mean)}`;
    if (Math.abs(zscore) < p.bands) return hold(`${shown}: within ${p.bands} sd`);
    if (Math.abs(deviation) < p.minDeviation) return hold(`${shown}: under ${(p.minDeviation * 100).toFixed(2)}%`);
    // Twice the band is as sure as this bot gets.
    const confidence = clamp01(0.25 + 0.75 * Math.min(1, (Math.abs(zscore) - p.bands) / p.bands));
    if (zscore < 0) return { action: 'buy', confidence, reason: `${shown}: well below` };
    return { action: 'sell', confidence, reason: `${shown}: well above` };
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
