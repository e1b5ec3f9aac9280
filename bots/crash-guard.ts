import { ATR, getMedian, getTrueRange } from 'trading-signals';
import { defineBot, z } from '../src/core/bot.ts';
import { hold } from '../src/core/signal.ts';

const params = z
  .object({
    atrPeriod: z.number().int().min(2).max(90).default(14).describe('ATR period of the yardstick the drop is measured in'),
    lookback: z.number().int().min(1).max(20).default(3).describe('Candles the drop is measured over, from their highest close'),
    k: z.number().min(0.5).max(20).default(2.5).describe('A drop beyond k ATRs (times √lookback) is a crash'),
    spikeWindow: z.number().int().min(5).max(250).default(48).describe('Candles before the last whose median true range is normal'),
    spikeMultiple: z.number().min(1.5).max(50).default(5).describe('A last true range beyond this many medians is a volatility spike'),
  })
  .refine((p) => p.lookback < p.atrPeriod, { message: 'lookback must be less than atrPeriod', path: ['lookback'] });

export default defineBot({
  id: 'crash-guard',
  version: '1.0.0',
  description: 'Risk veto: blocks new entries in a market right after a crash (a drop of many ATRs) or a volatility spike.',
  family: 'risk',
  role: 'veto',
  params,
  // The ATR is measured before the drop and settled over 3 periods; the median needs its own window.
  warmup: (p) => Math.max(p.lookback + 3 * p.atrPeriod, p.spikeWindow) + 1,
  analyze({ candles, params: p }) {
    const n = candles.length;
    const need = Math.max(p.lookback + 3 * p.atrPeriod, p.spikeWindow) + 1;
    if (n < need) return hold(`needs at least ${need} candles, has ${n}`);
    const last = n - 1;
    // The yardstick ends where the drop starts, so the crash does not soften its own measure.
    const start = last - p.lookback;
    const atr = new ATR(p.atrPeriod);
    for (let i = start - 3 * p.atrPeriod + 1; i <= start; i++) {
      atr.add({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! });
    }
    const unit = atr.getResult();
    const ranges: number[] = [];
    let meanRange = 0;
    for (let i = last - p.spikeWindow; i < last; i++) {
      const tr = getTrueRange({ high: candles.high[i]!, low: candles.low[i]!, close: candles.close[i]! }, candles.close[i - 1]);
      ranges.push(tr);
      meanRange += tr / p.spikeWindow;
    }
    // getMedian wants sorted input. A market that mostly does not trade has a median of 0; its mean still says what is normal.
    const normalRange = getMedian(ranges.sort((a, b) => a - b)) || meanRange;
    if (unit === null || !(unit > 0) || !(normalRange > 0)) return hold('no volatility to compare against');

    let peak = -Infinity;
    for (let i = start; i < last; i++) peak = Math.max(peak, candles.close[i]!);
    const close = candles.close[last]!;
    const drop = peak - close;
    // Random-walk moves grow with √time: a fixed k then means the same rarity for any lookback.
    const limit = p.k * unit * Math.sqrt(p.lookback);
    const dropSeverity = drop / limit;
    const lastRange = getTrueRange({ high: candles.high[last]!, low: candles.low[last]!, close }, candles.close[last - 1]);
    const spike = lastRange / normalRange;
    const spikeSeverity = spike / p.spikeMultiple;
    if (!Number.isFinite(dropSeverity) || !Number.isFinite(spikeSeverity)) return hold('volatility measures are not finite');

    const fell = `${((drop / peak) * 100).toFixed(2)}% (${(drop / unit).toFixed(1)} ATR) in ${p.lookback} candle${p.lookback > 1 ? 's' : ''}`;
    const ranged = `last true range ${spike.toFixed(1)}× the ${p.spikeWindow}-candle median`;
    const severity = Math.max(dropSeverity, spikeSeverity);
    if (severity < 1) return hold(`calm: ${drop > 0 ? `fell ${fell}` : 'no drop'}, ${ranged}`);
    const seen = [
      dropSeverity >= 1 ? `crash: fell ${fell}, limit ${(limit / unit).toFixed(1)} ATR` : '',
      spikeSeverity >= 1 ? `volatility spike: ${ranged}, limit ${p.spikeMultiple}×` : '',
    ].filter((s) => s !== '');
    // Just past a limit is a warning; twice past it is near certain.
    const confidence = clamp01(0.5 + 0.5 * Math.tanh(severity - 1));
    return { action: 'sell', confidence, reason: `veto entries: ${seen.join('; ')}` };
  },
});

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
