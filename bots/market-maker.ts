import { EMA } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    period: z.number().int().min(2).max(100).default(20).describe('Period of the EMA of closes taken as the fair price'),
    volPeriod: z.number().int().min(5).max(250).default(20).describe('Close-to-close returns whose standard deviation is the volatility σ'),
    spread: z.number().min(0.1).max(10).default(1).describe('Half-spread of the quotes around the reservation price, in σ'),
    skew: z.number().min(0).max(10).default(1).describe('Shift of the reservation price per unit of inventory excess, in σ (Avellaneda-Stoikov k)'),
    target: z.number().min(0).max(1).default(0.05).describe('Inventory (holding value / equity) the quotes lean toward'),
    maxInventory: z
      .number()
      .min(0.01)
      .max(1)
      .default(0.1)
      .describe('Inventory excess that counts as one full unit of skew (default: the risk engine\'s position cap)'),
    minEdge: z.number().min(0).max(0.05).default(0.0005).describe('Least distance of a quote from the close, as a fraction: a quote at the close would take, not make'),
  })
  .refine((p) => p.target < p.maxInventory, { message: 'target must be less than maxInventory', path: ['target'] });

export default defineBot({
  id: 'market-maker',
  version: '1.0.0',
  description: 'Market making: quotes a limit buy or sell around an EMA fair price, half-spread from volatility, reservation price skewed by inventory (Avellaneda-Stoikov).',
  family: 'market-making',
  params,
  // The EMA seeds from the window's first close; 3 periods let that seed fade.
  warmup: (p) => Math.max(3 * p.period, p.volPeriod + 1),
  analyze({ candles, params: p, inventory }) {
    const n = candles.length;
    const need = Math.max(p.period, p.volPeriod + 1);
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    if (!Number.isFinite(inventory) || inventory < 0) return hold(`inventory ${String(inventory)} is unknown`);
    const ema = new EMA(p.period);
    for (let i = 0; i < n; i++) ema.add(candles.close[i]!);
    const fair = ema.getResult();
    if (fair === null || !(fair > 0)) return hold('fair price not ready');
    let sum = 0;
    let sumSq = 0;
    for (let i = n - p.volPeriod; i < n; i++) {
      const r = Math.log(candles.close[i]! / candles.close[i - 1]!);
      sum += r;
      sumSq += r * r;
    }
    const mean = sum / p.volPeriod;
    const sd = Math.sqrt(Math.max(0, sumSq / p.volPeriod - mean * mean));
    // No volatility, no spread to quote: any width would be a guess.
    if (!(sd > 1e-9) || !Number.isFinite(sd)) return hold(`price did not move over ${p.volPeriod} candles: volatility unknown`);
    const sigma = fair * sd;
    const close = candles.close[n - 1]!;
    // Excess inventory in units of maxInventory, capped so that a holding far past the cap does
    // not push the quotes into another price range.
    const q = Math.max(-1, Math.min(1, (inventory - p.target) / p.maxInventory));
    const reservation = fair - p.skew * q * sigma;
    const half = p.spread * sigma;
    const bid = reservation - half;
    const ask = reservation + half;
    const gap = close - reservation;
    if (!Number.isFinite(gap)) return hold('reservation price is not finite');
    const shown = `close ${fmt(close)}, reservation ${fmt(reservation)} (fair ${fmt(fair)}, inventory ${pct(inventory)}, σ ${fmt(sigma)})`;
    if (Math.abs(gap) <= close * 1e-12) return hold(`${shown}: close on the reservation price, no side favoured`);
    // The quote nearer the market is the one that fills: below the reservation the bid is, and
    // it is also the side that brings a short inventory back to target.
    const confidence = Math.min(1, 0.15 + (0.85 * Math.abs(gap)) / (2 * half));
    if (gap < 0) {
      const limit = Math.min(bid, close * (1 - p.minEdge));
      if (!(limit > 0) || !Number.isFinite(limit)) return hold(`${shown}: bid ${fmt(bid)} is not a positive price`);
      return { action: 'buy', confidence, limitPrice: limit, reason: `${shown}: below the reservation, bid ${fmt(limit)}` };
    }
    const limit = Math.max(ask, close * (1 + p.minEdge));
    if (!(limit > 0) || !Number.isFinite(limit)) return hold(`${shown}: ask ${fmt(ask)} is not a positive price`);
    return { action: 'sell', confidence, limitPrice: limit, reason: `${shown}: above the reservation, ask ${fmt(limit)}` };
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
