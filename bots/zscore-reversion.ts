import { getAverage, getStandardDeviation } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    period: z.number().int().min(5).max(250).default(50).describe('Candles before the last one that set the mean and standard deviation'),
    entry: z.number().min(0.5).max(10).default(2).describe('|z| at or past which the close is faded (buy below -entry, sell above +entry)'),
    full: z.number().min(1).max(20).default(4).describe('|z| at which confidence reaches 1'),
  })
  .refine((p) => p.entry < p.full, { message: 'entry must be less than full', path: ['entry'] });

export default defineBot({
  id: 'zscore-reversion',
  version: '1.0.0',
  description: 'Mean reversion: buy when the close is far below the rolling mean in standard deviations, sell when far above.',
  family: 'mean-reversion',
  params,
  warmup: (p) => p.period + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period + 1) return hold(`needs at least ${p.period + 1} candles, has ${n}`);
    // The reference is the N closes before the last one: a close inside its own window caps how
    // far it can stand out ((N-1)/sqrt(N) sd), which would hide the very stretches this bot fades.
    const past = Array.from(candles.close.subarray(n - 1 - p.period, n - 1));
    const mean = getAverage(past);
    const sd = getStandardDeviation(past, mean);
    if (!(sd > Math.abs(mean) * 1e-9)) return hold(`price did not move over the previous ${p.period} candles`);
    const close = candles.close[n - 1]!;
    const zscore = (close - mean) / sd;
    if (!Number.isFinite(zscore)) return hold('z-score is not finite');
    const confidence = clamp01(0.25 + 0.75 * ((Math.abs(zscore) - p.entry) / (p.full - p.entry)));
    const shown = `z ${zscore.toFixed(2)} (close ${fmt(close)}, mean ${fmt(mean)}, sd ${fmt(sd)} over ${p.period})`;
    if (zscore <= -p.entry) return { action: 'buy', confidence, reason: `${shown} <= -${p.entry}` };
    if (zscore >= p.entry) return { action: 'sell', confidence, reason: `${shown} >= ${p.entry}` };
    return hold(`${shown} within ±${p.entry}`);
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
