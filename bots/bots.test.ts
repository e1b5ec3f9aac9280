import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BotDefinition } from '../src/core/bot.ts';
import { windowFromCandles, type Candle, type CandleWindow } from '../src/core/candle.ts';
import { SignalSchema, type Signal } from '../src/core/signal.ts';
import donchian from './donchian-breakout.ts';
import ema from './ema-crossover.ts';
import rsi from './rsi-reversion.ts';

const WINDOW = 300; // bots.windowSize's default

// Parsed here on purpose: the feed module is not a dependency of the bots.
function readCsv(url: URL): Candle[] {
  const [header, ...lines] = readFileSync(url, 'utf8').trim().split('\n');
  expect(header).toBe('timestamp,open,high,low,close,volume');
  return lines.map((line) => {
    const [ts, open, high, low, close, volume] = line.split(',').map(Number) as [number, number, number, number, number, number];
    return { ts, open, high, low, close, volume };
  });
}

const candles = readCsv(new URL('../data/ohlcv/ETH_BTC-5m.csv', import.meta.url));
const all = windowFromCandles(candles);

function slice(w: CandleWindow, from: number, to: number): CandleWindow {
  return {
    length: to - from,
    ts: w.ts.subarray(from, to),
    open: w.open.subarray(from, to),
    high: w.high.subarray(from, to),
    low: w.low.subarray(from, to),
    close: w.close.subarray(from, to),
    volume: w.volume.subarray(from, to),
  };
}

function analyze(bot: BotDefinition, candles: CandleWindow, raw: Record<string, unknown> = {}): Signal {
  return bot.analyze({ symbol: 'ETH/BTC', timeframe: '5m', candles, params: bot.params.parse(raw) });
}

/** Every decision point of the file, as the pipeline would run it: the last WINDOW candles. */
function replay(bot: BotDefinition): Signal[] {
  const warmup = bot.warmup(bot.params.parse({}));
  const out: Signal[] = [];
  for (let end = warmup; end <= all.length; end++) out.push(analyze(bot, slice(all, Math.max(0, end - WINDOW), end)));
  return out;
}

const flat = (n: number) => windowFromCandles(Array.from({ length: n }, (_, i) => ({ ts: i * 300_000, open: 1, high: 1, low: 1, close: 1, volume: 0 })));

describe.each([
  ['ema-crossover', ema],
  ['rsi-reversion', rsi],
  ['donchian-breakout', donchian],
] as [string, BotDefinition][])('%s', (id, bot) => {
  it('is a bot with that id whose default warmup fits the default window', () => {
    expect(bot.id).toBe(id);
    const warmup = bot.warmup(bot.params.parse({}));
    expect(Number.isInteger(warmup) && warmup > 1 && warmup <= WINDOW).toBe(true);
  });

  it('gives valid signals over ETH/BTC 5m, with buys and sells, and does so deterministically', () => {
    const first = replay(bot);
    for (const signal of first) expect(SignalSchema.parse(signal)).toEqual(signal);
    const count = (action: string) => first.filter((s) => s.action === action).length;
    expect(count('buy')).toBeGreaterThan(0);
    expect(count('sell')).toBeGreaterThan(0);
    expect(count('hold')).toBeGreaterThan(0);
    expect(first.filter((s) => s.action !== 'hold').every((s) => s.confidence > 0)).toBe(true);
    expect(replay(bot)).toEqual(first);
  });

  it('holds without NaN on windows too short, empty or flat', () => {
    for (const w of [flat(0), flat(1), flat(5), flat(WINDOW), slice(all, 0, 3)]) {
      const signal = analyze(bot, w);
      expect(SignalSchema.parse(signal)).toEqual(signal);
      expect(signal.action).toBe('hold');
      expect(signal.confidence).toBe(0);
    }
  });

  it('does not change the window it is given', () => {
    const w = slice(windowFromCandles(candles), 1000, 1300);
    const before = Array.from(w.close);
    analyze(bot, w);
    expect(Array.from(w.close)).toEqual(before);
  });
});

describe('ema-crossover', () => {
  it('refuses fast >= slow with a clear message on fast', () => {
    const result = ema.params.safeParse({ fast: 21, slow: 21 });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toMatchObject([{ path: ['fast'], message: 'fast must be less than slow' }]);
  });

  it('buys in a steady rise and sells in a steady fall, surer the wider the gap', () => {
    const ramp = (step: number) =>
      windowFromCandles(Array.from({ length: 100 }, (_, i) => {
        const c = 1 + step * i;
        return { ts: i * 300_000, open: c, high: c, low: c, close: c, volume: 1 };
      }));
    const gentle = analyze(ema, ramp(0.002));
    const steep = analyze(ema, ramp(0.01));
    expect(gentle.action).toBe('buy');
    expect(steep.confidence).toBeGreaterThan(gentle.confidence);
    expect(analyze(ema, ramp(-0.002)).action).toBe('sell');
  });
});

describe('rsi-reversion', () => {
  it('refuses oversold >= overbought and out-of-bounds thresholds', () => {
    expect(rsi.params.safeParse({ oversold: 70, overbought: 30 }).error!.issues[0]!.message).toBe('oversold must be less than overbought');
    expect(rsi.params.safeParse({ overbought: 100 }).success).toBe(false);
  });

  it('buys after a fall and is surer the deeper the RSI', () => {
    const fall = (losses: number) =>
      windowFromCandles(Array.from({ length: 45 + losses }, (_, i) => {
        // Up and down alternately, then a run of equal losses.
        const c = i < 45 ? 1 + (i % 2) * 0.01 : 1 - 0.01 * (i - 44);
        return { ts: i * 300_000, open: c, high: c, low: c, close: c, volume: 1 };
      }));
    const shallow = analyze(rsi, fall(8));
    const deep = analyze(rsi, fall(14));
    expect(shallow.action).toBe('buy');
    expect(deep.action).toBe('buy');
    expect(deep.confidence).toBeGreaterThan(shallow.confidence);
  });
});

describe('donchian-breakout', () => {
  it('buys a close above the previous high and sells one below the previous low, not its own', () => {
    const base = Array.from({ length: 21 }, (_, i) => ({ ts: i * 300_000, open: 1, high: 1.1, low: 0.9, close: 1, volume: 1 }));
    const last = (close: number) => windowFromCandles([...base.slice(0, 20), { ts: 20 * 300_000, open: 1, high: Math.max(1, close), low: Math.min(1, close), close, volume: 1 }]);
    expect(analyze(donchian, last(1.2))).toMatchObject({ action: 'buy' });
    expect(analyze(donchian, last(0.8))).toMatchObject({ action: 'sell' });
    expect(analyze(donchian, last(1.05))).toMatchObject({ action: 'hold' });
    expect(analyze(donchian, last(1.3)).confidence).toBeGreaterThan(analyze(donchian, last(1.15)).confidence);
  });
});
