import { ROC } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    period: z.number().int().min(1).max(50).default(12).describe('Candles the rate of change looks back over'),
    lookback: z.number().int().min(10).max(240).default(96).describe('Earlier ROC values whose typical size (RMS) sets the bar'),
    entry: z.number().min(0.1).max(5).default(1.5).describe('ROC must exceed this many typical ROCs to act'),
  })
  .refine((p) => p.lookback >= 2 * p.period, { message: 'lookback must be at least twice period', path: ['lookback'] });

export default defineBot({
  id: 'rate-of-change',
  version: '1.0.0',
  description: 'Momentum: buy when the N-candle rate of change is unusually positive and still rising, sell when unusually negative and still falling.',
  family: 'momentum',
  params,
  warmup: (p) => p.period + p.lookback + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = p.period + p.lookback + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    const roc = new ROC(p.period);
    const values: number[] = [];
    for (let i = n - need; i < n; i++) {
      const v = roc.add(candles.close[i]!);
      if (v !== null) values.push(v);
    }
    if (values.length !== p.lookback + 1) return hold('ROC not ready');
    const now = values[p.lookback]!;
    const prev = values[p.lookback - 1]!;
    // A fixed % bar means nothing across markets and timeframes: compare with this market's usual ROC, as
    // an RMS around zero (a steady trend still counts as movement), leaving the current value out.
    let sumSq = 0;
    for (let i = 0; i < p.lookback; i++) sumSq += values[i]! * values[i]!;
    const rms = Math.sqrt(sumSq / p.lookback);
    if (!(rms > 0)) return hold('price did not move');
    const z = now / rms;
    if (!Number.isFinite(z) || !Number.isFinite(prev)) return hold('ROC is not finite');
    const shown = `ROC${p.period} ${(now * 100).toFixed(3)}% (${z.toFixed(2)}× typical)`;
    if (Math.abs(z) < p.entry) return hold(`${shown}: within ${p.entry}× typical`);
    const side = Math.sign(now);
    // Momentum that is already shrinking is the tail of a move, not its body.
    if (side * (now - prev) < 0) return hold(`${shown}: ${side > 0 ? 'rise' : 'fall'} is losing speed`);
    const confidence = clamp01(0.2 + 0.8 * Math.tanh(Math.abs(z) / (2 * p.entry)));
    return { action: side > 0 ? 'buy' : 'sell', confidence, reason: `${shown}: strong ${side > 0 ? 'rise' : 'fall'} still ${side > 0 ? 'rising' : 'falling'}` };
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
