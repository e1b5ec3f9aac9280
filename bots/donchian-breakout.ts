import { DonchianChannels } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  period: z.number().int().min(2).max(250).default(20).describe('Candles of the channel the close must break out of'),
});

export default defineBot({
  id: 'donchian-breakout',
  version: '1.0.0',
  description: 'Breakout: buy when the close breaks above the previous N-candle high, sell below the previous low.',
  family: 'breakout',
  params,
  warmup: (p) => p.period + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    if (n < p.period + 1) return hold(`needs at least ${p.period + 1} candles, has ${n}`);
    // The channel of the N candles before the last one: the last candle must break out of it.
    const channel = new DonchianChannels(p.period);
    for (let i = n - 1 - p.period; i < n - 1; i++) channel.add({ high: candles.high[i]!, low: candles.low[i]! });
    const band = channel.getResult();
    if (band === null) return hold('channel not ready');
    const close = candles.close[n - 1]!;
    const width = band.upper - band.lower;
    // Breaking out by a whole channel width or more is as sure as this bot gets.
    const strength = (excess: number) => (width > 0 ? 0.4 + 0.6 * Math.min(1, excess / width) : 0.4);
    if (close > band.upper) {
      return { action: 'buy', confidence: clamp01(strength(close - band.upper)), reason: `close ${close} broke above the ${p.period}-candle high ${band.upper}` };
    }
    if (close < band.lower) {
      return { action: 'sell', confidence: clamp01(strength(band.lower - close)), reason: `close ${close} broke below the ${p.period}-candle low ${band.lower}` };
    }
    return hold(`close ${close} inside the ${p.period}-candle channel ${band.lower}..${band.upper}`);
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
