import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

/** Slack when placing the close among the levels: a close on a level is not below or above it. */
const EPS = 1e-9;

const params = z
  .object({
    period: z.number().int().min(5).max(250).default(50).describe('Closes in the SMA the grid is centred on'),
    spacing: z.number().min(0.001).max(0.1).default(0.005).describe('Gap between grid levels, as a fraction of the reference price'),
    levels: z.number().int().min(1).max(50).default(10).describe('Levels on each side of the reference; a close beyond the outermost is off the grid'),
    target: z.number().min(0).max(1).default(0.05).describe('Inventory (holding value / equity) the grid steers toward: below it the grid buys, above it sells'),
    band: z.number().min(0).max(0.5).default(0.01).describe('Inventory within ±band of target is on target: the grid then trades toward the reference (buy below it, sell above)'),
  })
  .refine((p) => p.levels * p.spacing < 1, { message: 'levels × spacing must be below 1 so that the lowest level stays above zero', path: ['levels'] });

export default defineBot({
  id: 'grid',
  version: '1.0.0',
  description: 'Grid market making: a limit buy at the grid level below the close while inventory is under target, a limit sell at the level above while over it.',
  family: 'market-making',
  params,
  warmup: (p) => p.period,
  analyze({ candles, params: p, inventory }) {
    const n = candles.length;
    if (n < p.period) return hold(`needs at least ${p.period} candles, has ${n}`);
    if (!Number.isFinite(inventory) || inventory < 0) return hold(`inventory ${String(inventory)} is unknown`);
    let sum = 0;
    let hi = -Infinity;
    let lo = Infinity;
    for (let i = n - p.period; i < n; i++) {
      const c = candles.close[i]!;
      sum += c;
      hi = Math.max(hi, c);
      lo = Math.min(lo, c);
    }
    const ref = sum / p.period;
    // A market that does not trade fills no grid: resting orders there are just exposure.
    if (!(hi - lo > ref * 1e-9)) return hold(`price did not move over ${p.period} candles`);
    const close = candles.close[n - 1]!;
    // Position of the close in grid steps from the reference (level j sits at ref × (1 + j × spacing)).
    const k = (close - ref) / (ref * p.spacing);
    if (!Number.isFinite(k)) return hold('grid position is not finite');
    const where = `close ${fmt(close)} is ${pct((close - ref) / ref)} from SMA${p.period} ${fmt(ref)}`;
    // The grid assumes a range around the reference; past its edge the SMA has to catch up first.
    if (Math.abs(k) > p.levels + EPS) return hold(`${where}: off the ${p.levels}-level grid`);
    const stock = `inventory ${pct(inventory)}`;
    let side: 'buy' | 'sell';
    let why: string;
    if (inventory < p.target - p.band) {
      side = 'buy';
      why = `${stock} < target ${pct(p.target)}`;
    } else if (inventory > p.target + p.band) {
      side = 'sell';
      why = `${stock} > target ${pct(p.target)}`;
    } else if (Math.abs(k) > EPS) {
      // On target: only the side that trades back toward the reference is worth the exposure.
      side = k < 0 ? 'buy' : 'sell';
      why = `${stock} on target, close ${k < 0 ? 'below' : 'above'} the reference`;
    } else {
      return hold(`${where}: ${stock} on target and close on the reference`);
    }
    // The nearest level strictly on the resting side, so that the order does not fill at once.
    const j = side === 'buy' ? Math.ceil(k - EPS) - 1 : Math.floor(k + EPS) + 1;
    if (Math.abs(j) > p.levels) return hold(`${where}: no grid level ${side === 'buy' ? 'below' : 'above'} the close`);
    const level = ref * (1 + j * p.spacing);
    if (!(level > 0) || !Number.isFinite(level)) return hold(`grid level ${j} is not a positive price`);
    // From 0.1 at the far unfavourable edge through 0.55 at the reference to 1 at the far favourable edge.
    const favour = side === 'buy' ? -j : j;
    const confidence = Math.min(1, Math.max(0.1, 0.1 + (0.9 * (p.levels + favour)) / (2 * p.levels)));
    return { action: side, confidence, limitPrice: level, reason: `${where}; ${why}: limit ${side} at level ${j} ${fmt(level)}` };
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
