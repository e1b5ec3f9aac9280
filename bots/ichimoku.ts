import { IchimokuCloud, type IchimokuCloudResult } from 'trading-signals';
import type { CandleWindow } from '../src/core/candle.ts';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    conversion: z.number().int().min(2).max(59).default(9).describe('Candles of the conversion line (tenkan-sen)'),
    base: z.number().int().min(3).max(119).default(26).describe('Candles of the base line (kijun-sen)'),
    spanB: z.number().int().min(4).max(180).default(52).describe('Candles of the slow cloud edge (senkou span B)'),
    displacement: z.number().int().min(1).max(120).default(26).describe('Candles the cloud is projected ahead, and the lagging span behind'),
  })
  .refine((p) => p.conversion < p.base, { message: 'conversion must be less than base', path: ['conversion'] })
  .refine((p) => p.base < p.spanB, { message: 'base must be less than spanB', path: ['base'] });

export default defineBot({
  id: 'ichimoku',
  version: '1.0.0',
  description: 'Trend following: buy above the Ichimoku cloud with tenkan over kijun, sell below it with tenkan under kijun.',
  family: 'trend',
  params,
  // The cloud over the decision candle was drawn `displacement` candles ago from `spanB` candles before that.
  warmup: (p) => p.spanB + p.displacement,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = p.spanB + p.displacement;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = n - need; i < n; i++) {
      lo = Math.min(lo, candles.low[i]!);
      hi = Math.max(hi, candles.high[i]!);
    }
    // Every line is a midpoint of highs and lows: with no range they all sit on the price.
    if (hi === lo) return hold('price did not move');
    const config = { conversionInterval: p.conversion, baseInterval: p.base, spanBInterval: p.spanB };
    const cloud = lines(candles, new IchimokuCloud(config), n - p.displacement - p.spanB, n - p.displacement);
    const now = lines(candles, new IchimokuCloud(config), n - p.spanB, n);
    if (cloud === null || now === null) return hold('Ichimoku lines not ready');
    const top = Math.max(cloud.spanA, cloud.spanB);
    const bottom = Math.min(cloud.spanA, cloud.spanB);
    const close = candles.close[n - 1]!;
    const tk = `tenkan ${now.conversion.toPrecision(6)} ${now.conversion > now.base ? '>' : now.conversion < now.base ? '<' : '='} kijun ${now.base.toPrecision(6)}`;
    const side = close > top ? 1 : close < bottom ? -1 : 0;
    if (side === 0) return hold(`close ${close.toPrecision(6)} inside the cloud ${bottom.toPrecision(6)}..${top.toPrecision(6)}`);
    if (side * (now.conversion - now.base) <= 0) {
      return hold(`close ${close.toPrecision(6)} ${side > 0 ? 'above' : 'below'} the cloud but ${tk}: mixed`);
    }
    // Confirmations: the lagging span clears the price it is drawn against, and the cloud ahead has the same colour.
    const chikou = side * (close - candles.close[n - 1 - p.displacement]!) > 0;
    const ahead = side * (now.spanA - now.spanB) > 0;
    // Distance past the cloud edge in units of the high-low range the kijun is the midpoint of.
    const kijunRange = rangeOf(candles, n - p.base, n);
    const beyond = side > 0 ? close - top : bottom - close;
    const distance = kijunRange > 0 ? beyond / kijunRange : 0;
    const confidence = clamp01(0.2 + 0.4 * Math.tanh(distance) + (chikou ? 0.2 : 0) + (ahead ? 0.2 : 0));
    const reason = `close ${close.toPrecision(6)} ${side > 0 ? 'above' : 'below'} the cloud, ${tk}, lagging span ${chikou ? 'confirms' : 'does not confirm'}, cloud ahead ${ahead ? 'agrees' : 'disagrees'}`;
    return { action: side > 0 ? 'buy' : 'sell', confidence, reason };
  },
});

/** The lines as of candle `to - 1`, from the candles [from, to); they only look back spanB candles. */
function lines(w: CandleWindow, ichimoku: IchimokuCloud, from: number, to: number): IchimokuCloudResult | null {
  for (let i = Math.max(0, from); i < to; i++) ichimoku.add({ high: w.high[i]!, low: w.low[i]! });
  return ichimoku.getResult();
}

function rangeOf(w: CandleWindow, from: number, to: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = Math.max(0, from); i < to; i++) {
    lo = Math.min(lo, w.low[i]!);
    hi = Math.max(hi, w.high[i]!);
  }
  return hi - lo;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
