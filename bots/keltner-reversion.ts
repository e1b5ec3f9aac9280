import { ATR, EMA } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z.object({
  emaPeriod: z.number().int().min(2).max(100).default(20).describe('Period of the EMA at the middle of the channel'),
  atrPeriod: z.number().int().min(2).max(100).default(10).describe('Period of the ATR that sets the channel width'),
  multiplier: z.number().min(0.5).max(10).default(2).describe('Channel half-width in ATRs; a close beyond it is faded'),
});

export default defineBot({
  id: 'keltner-reversion',
  version: '1.0.0',
  description: 'Mean reversion: buy a close below the Keltner channel (EMA - k×ATR), sell one above (EMA + k×ATR).',
  family: 'mean-reversion',
  params,
  // EMA and Wilder ATR both remember their seed; 3 periods of the longer one let it fade.
  warmup: (p) => 3 * Math.max(p.emaPeriod, p.atrPeriod),
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = Math.max(p.emaPeriod, p.atrPeriod) + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    // The library's KeltnerChannels is this same EMA ± k×ATR, but it asks its EMA whether it is stable
    // on every candle, which throws and catches until it is: some twenty times slower than its parts.
    // Each is fed 3 of its own periods, so the channel does not depend on how long the window is.
    const ema = new EMA(p.emaPeriod);
    for (let i = Math.max(0, n - 3 * p.emaPeriod); i < n; i++) ema.add(candles.close[i]!);
    const atrs = new ATR(p.atrPeriod);
    for (let i = Math.max(0, n - 3 * p.atrPeriod); i < n; i++) atrs.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    const middle = ema.getResult();
    const atr = atrs.getResult();
    if (middle === null || atr === null) return hold('channel not ready');
    if (!(atr > Math.abs(middle) * 1e-9)) return hold('price did not move: the channel has no width');
    const channel = { lower: middle - p.multiplier * atr, middle, upper: middle + p.multiplier * atr };
    const close = candles.close[n - 1]!;
    const offset = (close - channel.middle) / atr;
    if (!Number.isFinite(offset)) return hold('channel position is not finite');
    // One ATR past the channel edge is as sure as this bot gets.
    const strength = (excess: number) => clamp01(0.3 + 0.7 * Math.min(1, excess / atr));
    const where = `close ${fmt(close)} is ${offset.toFixed(2)} ATR from EMA${p.emaPeriod} ${fmt(channel.middle)}`;
    if (close < channel.lower) return { action: 'buy', confidence: strength(channel.lower - close), reason: `${where}: below the channel` };
    if (close > channel.upper) return { action: 'sell', confidence: strength(close - channel.upper), reason: `${where}: above the channel` };
    return hold(`${where}: inside ±${p.multiplier} ATR`);
  },
});

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
