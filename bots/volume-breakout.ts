import { RVOL } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  lookback: z.number().int().min(2).max(250).default(20).describe('Candles before the last one whose highest and lowest close must be broken'),
  volumePeriod: z.number().int().min(2).max(250).default(20).describe('Candles before the last one whose mean volume the breakout candle is compared with'),
  volumeRatio: z.number().min(1).max(50).default(2).describe('The breakout candle must trade at least this many times the mean volume'),
});

export default defineBot({
  id: 'volume-breakout',
  version: '1.0.0',
  description: 'Breakout on volume: buy a close above the previous N closes, sell one below them, only on volume well above its mean.',
  family: 'breakout',
  params,
  warmup: (p) => Math.max(p.lookback, p.volumePeriod) + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = Math.max(p.lookback, p.volumePeriod) + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    // Closes, not wicks: a breakout must hold to the close to count.
    let hi = -Infinity;
    let lo = Infinity;
    for (let i = n - 1 - p.lookback; i < n - 1; i++) {
      hi = Math.max(hi, candles.close[i]!);
      lo = Math.min(lo, candles.close[i]!);
    }
    const close = candles.close[n - 1]!;
    const up = close > hi;
    const down = close < lo;
    if (!up && !down) return hold(`close ${fmt(close)} inside the ${p.lookback}-candle close range ${fmt(lo)}..${fmt(hi)}`);
    const rvol = new RVOL(p.volumePeriod);
    for (let i = n - 1 - p.volumePeriod; i < n; i++) rvol.add(candles.volume[i]!);
    const ratio = rvol.getResult();
    // RVOL gives nothing when the mean volume is 0: nothing to confirm against.
    if (ratio === null || !Number.isFinite(ratio)) return hold(`no volume traded in the previous ${p.volumePeriod} candles`);
    const side = up ? `above the ${p.lookback}-candle high close ${fmt(hi)}` : `below the ${p.lookback}-candle low close ${fmt(lo)}`;
    const shown = `close ${fmt(close)} ${side} on ${ratio.toFixed(2)}× mean volume`;
    if (ratio < p.volumeRatio) return hold(`${shown}: unconfirmed (< ${p.volumeRatio}×)`);
    // Half from how far price broke out (a whole range is full), half from how heavy the volume was (twice the bar is full).
    const width = hi - lo;
    const excess = up ? close - hi : lo - close;
    const price = width > 0 ? Math.min(1, excess / width) : 0.5;
    const volume = Math.min(1, ratio / p.volumeRatio - 1);
    const confidence = clamp01(0.2 + 0.4 * price + 0.4 * volume);
    return { action: up ? 'buy' : 'sell', confidence, reason: shown };
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
