import { WilliamsR } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    period: z.number().int().min(2).max(100).default(14).describe('Candles whose high-low range %R places the close in'),
    oversold: z.number().min(-99).max(-1).default(-80).describe('%R below this is oversold; leaving it upwards is a buy'),
    overbought: z.number().min(-99).max(-1).default(-20).describe('%R above this is overbought; leaving it downwards is a sell'),
    within: z.number().int().min(1).max(20).default(3).describe('Candles after leaving a zone that the exit still counts'),
  })
  .refine((p) => p.oversold < p.overbought, { message: 'oversold must be less than overbought', path: ['oversold'] });

export default defineBot({
  id: 'williams-r',
  version: '1.0.0',
  description: 'Momentum: buy when Williams %R climbs back out of oversold, sell when it drops back out of overbought.',
  family: 'momentum',
  params,
  // A full period for %R, then room to see it enter a zone and leave it.
  warmup: (p) => p.period * 2 + p.within,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = p.period + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    // %R by candle index (NaN before the first full period). The library reads a window with no
    // range as -100 (deeply oversold), which a still market is not, so those are NaN too.
    const r = new Float64Array(n).fill(NaN);
    const wr = new WilliamsR(p.period);
    for (let i = 0; i < n; i++) {
      const v = wr.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
      if (v !== null && hasRange(candles.high, candles.low, i + 1 - p.period, i + 1)) r[i] = v;
    }
    const now = r[n - 1]!;
    if (!Number.isFinite(now)) return hold(`price did not move over ${p.period} candles`);
    const shown = `%R${p.period} ${now.toFixed(1)}`;
    if (now < p.oversold) return hold(`${shown}: oversold, waiting for it to climb out`);
    if (now > p.overbought) return hold(`${shown}: overbought, waiting for it to drop out`);
    // The latest zone exit within reach. Any later trip into a zone would either still be on (held above)
    // or have ended in a later exit, found first.
    for (let e = n - 1; e >= Math.max(1, n - p.within); e--) {
      const before = r[e - 1]!;
      const side = before < p.oversold && r[e]! >= p.oversold ? 1 : before > p.overbought && r[e]! <= p.overbought ? -1 : 0;
      if (side === 0) continue;
      // How far into the zone it went before leaving: a deep washout makes a firmer turn.
      let extreme = before;
      for (let j = e - 1; j >= 0 && (side > 0 ? r[j]! < p.oversold : r[j]! > p.overbought); j--) {
        extreme = side > 0 ? Math.min(extreme, r[j]!) : Math.max(extreme, r[j]!);
      }
      const depth = side > 0 ? (p.oversold - extreme) / (p.oversold + 100) : (extreme - p.overbought) / -p.overbought;
      const age = n - 1 - e;
      const freshness = 1 - age / p.within;
      const confidence = clamp01(0.2 + 0.4 * Math.min(1, depth) + 0.4 * freshness);
      const zone = side > 0 ? `oversold ${p.oversold}` : `overbought ${p.overbought}`;
      const when = age === 0 ? 'on this candle' : `${age} candle${age > 1 ? 's' : ''} ago`;
      return { action: side > 0 ? 'buy' : 'sell', confidence, reason: `${shown}: left ${zone} ${when}, after reaching ${extreme.toFixed(1)}` };
    }
    return hold(`${shown}: no zone exit in the last ${p.within} candles`);
  },
});

function hasRange(high: Float64Array, low: Float64Array, from: number, to: number): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = Math.max(0, from); i < to; i++) {
    lo = Math.min(lo, low[i]!);
    hi = Math.max(hi, high[i]!);
  }
  return hi > lo;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
