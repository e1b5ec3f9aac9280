import { ADX } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

/** +DI and -DI together below this many points: the range is there, but highs and lows do not extend. */
const MIN_DI_SUM = 10;

const params = z
  .object({
    period: z.number().int().min(2).max(75).default(14).describe('Period of the directional movement and ADX smoothing'),
    threshold: z.number().min(5).max(80).default(25).describe('ADX below this is no trend: hold'),
    strong: z.number().min(10).max(100).default(50).describe('ADX at which the trend counts as fully strong'),
  })
  .refine((p) => p.threshold < p.strong, { message: 'threshold must be less than strong', path: ['threshold'] });

export default defineBot({
  id: 'adx-dmi',
  version: '1.0.0',
  description: 'Trend following: when ADX says there is a trend, buy if +DI leads -DI and sell if -DI leads.',
  family: 'trend',
  params,
  // ADX is a Wilder average of a Wilder average: 4 periods let both forget their seeds.
  warmup: (p) => p.period * 4,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = p.period * 2 + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    const adx = new ADX(p.period);
    let prevAdx: number | null = null;
    // After 10 periods the seeds weigh under 0.1%: older candles cost time and change nothing.
    for (let i = Math.max(0, n - p.period * 10); i < n; i++) {
      if (i === n - 1) prevAdx = adx.getResult();
      adx.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    }
    const value = adx.getResult();
    const pdi = adx.pdi;
    const mdi = adx.mdi;
    if (value === null || prevAdx === null || typeof pdi !== 'number' || typeof mdi !== 'number') return hold('ADX not ready');
    // With no range at all the DIs are 0/0: there is no direction to read.
    if (!Number.isFinite(value) || !Number.isFinite(pdi) || !Number.isFinite(mdi)) return hold('no range to measure direction on');
    const shown = `ADX${p.period} ${value.toFixed(1)}, +DI ${(pdi * 100).toFixed(1)}, -DI ${(mdi * 100).toFixed(1)}`;
    if (value < p.threshold) return hold(`${shown}: ADX below ${p.threshold}, no trend`);
    // Inside bars all along: a ratio of two near-zeros would read as a strong trend.
    if ((pdi + mdi) * 100 < MIN_DI_SUM) return hold(`${shown}: next to no directional movement`);
    if (pdi === mdi) return hold(`${shown}: neither side leads`);
    const trend = Math.min(1, (value - p.threshold) / (p.strong - p.threshold));
    // How one-sided the movement is now, 0..1 (DX/100).
    const spread = Math.abs(pdi - mdi) / (pdi + mdi);
    const rising = value >= prevAdx;
    // A falling ADX is a trend losing steam: still a trend, but less to stake on it.
    const confidence = clamp01((0.2 + 0.5 * trend + 0.3 * spread) * (rising ? 1 : 0.75));
    const reason = `${shown} (${rising ? 'rising' : 'falling'}): ${pdi > mdi ? 'uptrend' : 'downtrend'}`;
    return { action: pdi > mdi ? 'buy' : 'sell', confidence, reason };
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
