import { ADX, getLogReturns, getStandardDeviation } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold, type Regime, type Signal } from '../src/core/signal.ts';

/** ADX is fed this many of its periods: 2 to start, the rest let Wilder's smoothing forget its seed (to ~0.2%). */
const ADX_PERIODS = 8;

const params = z
  .object({
    adxPeriod: z.number().int().min(2).max(35).default(14).describe('ADX period (trend strength)'),
    trendAdx: z.number().min(5).max(80).default(25).describe('ADX at or above this is a trending market'),
    rangeAdx: z.number().min(1).max(79).default(20).describe('ADX at or below this is a ranging market; between the two there is no clear regime'),
    volPeriod: z.number().int().min(2).max(100).default(20).describe('Candles of recent log returns whose standard deviation is the current volatility'),
    history: z.number().int().min(10).max(299).default(200).describe('Candles of log returns whose standard deviation is the normal volatility'),
    volatileRatio: z
      .number()
      .min(1.05)
      .max(10)
      .default(1.6)
      .describe('Recent volatility at or above this multiple of the normal one is a volatile market, whatever the trend'),
  })
  .refine((p) => p.rangeAdx < p.trendAdx, { message: 'rangeAdx must be less than trendAdx', path: ['rangeAdx'] })
  .refine((p) => p.volPeriod < p.history, { message: 'volPeriod must be less than history', path: ['volPeriod'] });

export default defineBot({
  id: 'regime-detector',
  version: '1.0.0',
  description: 'Regime: labels the market volatile (recent volatility far above its norm), else trending or ranging by ADX.',
  family: 'regime',
  role: 'regime',
  params,
  // The volatility norm needs its whole history; ADX's Wilder smoothing needs a few periods to settle.
  warmup: (p) => Math.max(p.history + 1, ADX_PERIODS * p.adxPeriod),
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = Math.max(p.history + 1, ADX_PERIODS * p.adxPeriod);
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    const from = n - need;
    const closes = Array.from(candles.close.subarray(from, n));
    if (!closes.every((c) => c > 0)) return hold('non-positive close: no log returns');
    if (Math.max(...closes) === Math.min(...closes)) return hold(`price did not move over ${need} candles`);
    const returns = getLogReturns(closes);
    const normal = getStandardDeviation(returns.slice(-p.history));
    const recent = getStandardDeviation(returns.slice(-p.volPeriod));
    // Returns all alike (a perfectly steady drift) have no volatility to compare: call it unchanged.
    const ratio = normal > 1e-9 ? recent / normal : 1;
    // A fixed span, so ADX does not depend on the window's length.
    const adx = new ADX(p.adxPeriod);
    for (let i = n - ADX_PERIODS * p.adxPeriod; i < n; i++) adx.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    const strength = adx.getResult();
    // The library's ADX is 0/0 when the ranges it smooths are all 0.
    if (strength === null || !Number.isFinite(strength) || !Number.isFinite(ratio)) return hold('ADX or volatility not finite');
    const figures = `ADX${p.adxPeriod} ${strength.toFixed(1)}, volatility ${ratio.toFixed(2)}× its ${p.history}-candle norm`;
    // A volatility shock dominates whatever the trend says; each label is surer the further past its threshold.
    if (ratio >= p.volatileRatio) return label('volatile', 0.4 + 0.6 * ((ratio - p.volatileRatio) / p.volatileRatio), figures);
    if (strength >= p.trendAdx) return label('trending', 0.4 + 0.6 * ((strength - p.trendAdx) / p.trendAdx), figures);
    if (strength <= p.rangeAdx) return label('ranging', 0.4 + 0.6 * ((p.rangeAdx - strength) / p.rangeAdx), figures);
    return hold(`${figures}: between ${p.rangeAdx} and ${p.trendAdx}, no clear regime`);
  },
});

function label(regime: Regime, confidence: number, figures: string): Signal {
  return { action: 'hold', confidence: Math.min(1, Math.max(0.05, confidence)), regime, reason: `${regime}: ${figures}` };
}
