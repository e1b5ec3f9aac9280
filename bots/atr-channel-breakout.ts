import { ATR, SMA } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  period: z.number().int().min(2).max(250).default(14).describe('Candles before the last one whose true ranges set the ATR'),
  multiplier: z.number().min(0.1).max(10).default(1.5).describe('A close more than this many ATRs from the previous close is a breakout'),
});

export default defineBot({
  id: 'atr-channel-breakout',
  version: '1.0.0',
  description: 'Volatility breakout: buy a close above the previous close + k×ATR, sell one below the previous close - k×ATR.',
  family: 'breakout',
  params,
  warmup: (p) => p.period + 2,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period + 2) return hold(`needs at least ${p.period + 2} candles, has ${n}`);
    // The ATR of the candles before the last one: the breakout candle must not widen its own
    // channel. A plain mean of N true ranges (not Wilder's), so it does not depend on the window's length;
    // the extra first candle only gives the first of those ranges its previous close.
    const atr = new ATR(p.period, SMA);
    for (let i = n - p.period - 2; i < n - 1; i++) atr.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    const range = atr.getResult();
    if (range === null) return hold('ATR not ready');
    const prev = candles.close[n - 2]!;
    if (!(range > Math.abs(prev) * 1e-9)) return hold(`price did not move over ${p.period} candles: ATR is 0`);
    const close = candles.close[n - 1]!;
    const move = (close - prev) / range;
    if (!Number.isFinite(move)) return hold('move is not finite');
    // A move of twice the threshold is as sure as this bot gets.
    const confidence = clamp01(0.3 + 0.7 * Math.min(1, (Math.abs(move) - p.multiplier) / p.multiplier));
    const shown = `close ${fmt(close)} moved ${move.toFixed(2)} ATR${p.period} (${fmt(range)}) from ${fmt(prev)}`;
    if (move > p.multiplier) return { action: 'buy', confidence, reason: `${shown}: above +${p.multiplier} ATR` };
    if (move < -p.multiplier) return { action: 'sell', confidence, reason: `${shown}: below -${p.multiplier} ATR` };
    return hold(`${shown}: within ±${p.multiplier} ATR`);
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
