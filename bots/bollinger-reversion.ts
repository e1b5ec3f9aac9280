import { BollingerBands } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  period: z.number().int().min(2).max(250).default(20).describe('Candles in the moving average and its standard deviation'),
  stdDevs: z.number().min(0.5).max(5).default(2).describe('Band half-width in standard deviations; a close beyond it is faded'),
});

export default defineBot({
  id: 'bollinger-reversion',
  version: '1.0.0',
  description: 'Mean reversion: buy a close below the lower Bollinger band, sell a close above the upper band.',
  family: 'mean-reversion',
  params,
  warmup: (p) => p.period,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period) return hold(`needs at least ${p.period} candles, has ${n}`);
    // The bands have no memory: the last N closes are all they need.
    const bands = new BollingerBands(p.period, p.stdDevs);
    for (let i = n - p.period; i < n; i++) bands.add(candles.close[i]!);
    const band = bands.getResult();
    if (band === null) return hold('bands not ready');
    const close = candles.close[n - 1]!;
    const sigma = (band.upper - band.middle) / p.stdDevs;
    // Rounding can leave a hair of width on a market that did not move: no band to fade.
    if (!(sigma > Math.abs(band.middle) * 1e-9)) return hold(`price did not move over ${p.period} candles`);
    // One standard deviation past the band is as sure as this bot gets.
    const strength = (excess: number) => 0.3 + 0.7 * Math.min(1, excess / sigma);
    const z = (close - band.middle) / sigma;
    if (!Number.isFinite(z)) return hold('band position is not finite');
    const where = `${fmt(close)} is ${z.toFixed(2)} sd from SMA${p.period} ${fmt(band.middle)}`;
    if (close < band.lower) return { action: 'buy', confidence: clamp01(strength(band.lower - close)), reason: `close ${where}: below the lower band` };
    if (close > band.upper) return { action: 'sell', confidence: clamp01(strength(close - band.upper)), reason: `close ${where}: above the upper band` };
    return hold(`close ${where}: inside the ${p.stdDevs} sd bands`);
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
