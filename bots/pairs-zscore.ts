import { defineBot, z } from '../src/core/bot.ts';
import type { CandleWindow } from '../src/core/candle.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    partner: z
      .string()
      .regex(/^[^\s/]+\/[^\s/]+$/, 'must be a unified symbol like "ETH/BTC"')
      .max(40)
      .default('ETH/BTC')
      .describe('Market the analysed one is paired with (unified symbol)'),
    lookback: z.number().int().min(20).max(299).default(100).describe('Candles at times both markets traded, before the last one, that fit the hedge ratio and the spread\'s mean and sd'),
    entry: z.number().min(0.5).max(10).default(2).describe('|z| of the spread at or past which it is traded: buy below -entry (cheap), sell above +entry (rich)'),
    exit: z.number().min(-5).max(5).default(0).describe('A held position is sold once z rises back to this level: the spread has reverted'),
    full: z.number().min(1).max(20).default(4).describe('|z| at which confidence reaches 1'),
  })
  .refine((p) => p.entry < p.full, { message: 'entry must be less than full', path: ['entry'] })
  .refine((p) => Math.abs(p.exit) < p.entry, { message: 'exit must lie strictly between -entry and +entry', path: ['exit'] });

export default defineBot({
  id: 'pairs-zscore',
  version: '1.0.0',
  description: 'Statistical arbitrage: buys the market when its log-price spread to a partner (rolling OLS hedge ratio) is unusually low, sells when high or reverted.',
  family: 'arbitrage',
  params,
  warmup: (p) => p.lookback + 1,
  otherMarkets: (p) => [p.partner],
  analyze({ symbol, candles, others, params: p, inventory }) {
    if (symbol === p.partner) return hold(`${symbol} is its own partner: no spread to trade`);
    const n = candles.length;
    if (n < p.lookback + 1) return hold(`needs at least ${p.lookback + 1} candles, has ${n}`);
    const partner = others[p.partner];
    if (partner === undefined) return hold(`no candles of partner ${p.partner}`);
    const pairs = alignedTail(candles, partner, p.lookback + 1);
    // The spread at the decision candle needs the partner's price at that same time, not an older one.
    if (pairs.length === 0 || pairs[0]![0] !== n - 1) return hold(`partner ${p.partner} has no candle at the decision time`);
    if (pairs.length < p.lookback + 1) return hold(`only ${pairs.length} candles at times both markets traded, needs ${p.lookback + 1}`);
    // Fit on the candles before the last one: the last close inside its own fit would cap how far it can stand out.
    let sx = 0;
    let sy = 0;
    for (let k = 1; k <= p.lookback; k++) {
      const [a, b] = pairs[k]!;
      sx += Math.log(partner.close[b]!);
      sy += Math.log(candles.close[a]!);
    }
    const mx = sx / p.lookback;
    const my = sy / p.lookback;
    let sxx = 0;
    let sxy = 0;
    for (let k = 1; k <= p.lookback; k++) {
      const [a, b] = pairs[k]!;
      const dx = Math.log(partner.close[b]!) - mx;
      sxx += dx * dx;
      sxy += dx * (Math.log(candles.close[a]!) - my);
    }
    if (!(sxx > 1e-18)) return hold(`partner ${p.partner} did not move over ${p.lookback} candles: no hedge ratio`);
    const beta = sxy / sxx;
    const alpha = my - beta * mx;
    let see = 0;
    for (let k = 1; k <= p.lookback; k++) {
      const [a, b] = pairs[k]!;
      const e = Math.log(candles.close[a]!) - alpha - beta * Math.log(partner.close[b]!);
      see += e * e;
    }
    // OLS residuals have mean zero over the fit: their sd is the spread's whole yardstick.
    const sd = Math.sqrt(see / p.lookback);
    if (!(sd > 1e-12)) return hold(`spread to ${p.partner} did not move over ${p.lookback} candles`);
    const [lastA, lastB] = pairs[0]!;
    const zscore = (Math.log(candles.close[lastA]!) - alpha - beta * Math.log(partner.close[lastB]!)) / sd;
    if (!Number.isFinite(zscore)) return hold('spread z-score is not finite');
    const shown = `spread z ${zscore.toFixed(2)} vs ${p.partner} (β ${beta.toFixed(3)}, sd ${sd.toPrecision(3)} over ${p.lookback})`;
    const strength = clamp01(0.25 + 0.75 * ((Math.abs(zscore) - p.entry) / (p.full - p.entry)));
    if (zscore <= -p.entry) return { action: 'buy', confidence: strength, reason: `${shown} <= -${p.entry}: cheap` };
    if (zscore >= p.entry) return { action: 'sell', confidence: strength, reason: `${shown} >= ${p.entry}: rich` };
    // Spot is long-only: once the spread is back, a held position has no edge left.
    if (inventory > 0 && zscore >= p.exit) {
      const back = clamp01(0.25 + 0.5 * ((zscore - p.exit) / (p.entry - p.exit)));
      return { action: 'sell', confidence: back, reason: `${shown} >= exit ${p.exit}: reverted, go flat` };
    }
    return hold(`${shown} within ±${p.entry}`);
  },
});

/**
 * Index pairs [i in a, j in b] of the latest `count` timestamps present in both windows, newest
 * first. Either market can miss candles the other has; walking back from both ends skips them.
 */
function alignedTail(a: CandleWindow, b: CandleWindow, count: number): [number, number][] {
  const out: [number, number][] = [];
  let i = a.length - 1;
  let j = b.length - 1;
  while (i >= 0 && j >= 0 && out.length < count) {
    const ta = a.ts[i]!;
    const tb = b.ts[j]!;
    if (ta === tb) {
      out.push([i, j]);
      i--;
      j--;
    } else if (ta > tb) i--;
    else j--;
  }
  return out;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
