import { ATR, SuperTrend } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  period: z.number().int().min(2).max(60).default(10).describe('ATR period of the bands'),
  multiplier: z.number().min(0.5).max(10).default(3).describe('Band distance from the median price, in ATRs'),
});

export default defineBot({
  id: 'supertrend',
  version: '1.0.0',
  description: 'Trend following: buy while the close holds above the Supertrend trailing band, sell while below; a flip is surest.',
  family: 'trend',
  params,
  // The bands ratchet from wherever they start; 5 periods give them room to flip into the real trend.
  warmup: (p) => p.period * 5,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = p.period + 2;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    const st = new SuperTrend({ interval: p.period, multiplier: p.multiplier });
    // Same ATR as the bands use, to say how far the close is from its stop.
    const atr = new ATR(p.period);
    let prevTrend: string | null = null;
    for (let i = 0; i < n; i++) {
      if (i === n - 1) prevTrend = st.getResult()?.trend ?? null;
      const c = { high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! };
      st.add(c);
      atr.add(c);
    }
    const now = st.getResult();
    const range = atr.getResult();
    if (now === null || prevTrend === null || range === null) return hold('Supertrend not ready');
    // With no range the bands sit on the price and the trend the library reports is arbitrary.
    if (!(range > 0)) return hold('price did not move');
    const close = candles.close[n - 1]!;
    const up = now.trend === 'BULLISH';
    const distance = (up ? close - now.supertrend : now.supertrend - close) / range;
    if (!Number.isFinite(distance)) return hold('Supertrend distance is not finite');
    const flipped = prevTrend !== now.trend;
    // Far from the stop is a trend with room; near it is one about to flip.
    const confidence = clamp01(0.2 + 0.6 * Math.min(1, Math.max(0, distance) / (1.5 * p.multiplier)) + (flipped ? 0.2 : 0));
    const reason = `close ${close.toPrecision(6)} ${flipped ? 'flipped' : 'stays'} ${up ? 'above' : 'below'} Supertrend(${p.period},${p.multiplier}) ${now.supertrend.toPrecision(6)}, ${distance.toFixed(2)} ATR away`;
    return { action: up ? 'buy' : 'sell', confidence, reason };
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
