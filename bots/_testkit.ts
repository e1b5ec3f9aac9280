import { readFileSync } from 'node:fs';
import type { BotDefinition } from '../src/core/bot.ts';
import { sliceWindow, windowFromCandles, type Candle, type CandleWindow } from '../src/core/candle.ts';
import type { Signal } from '../src/core/signal.ts';

/**
 * Helpers for bot tests (the leading "_" keeps this file out of discovery). Parses the bundled
 * CSVs itself on purpose: the feed module is not a dependency of the bots.
 */

export const WINDOW = 300; // bots.windowSize's default

export function readCandles(file: string): Candle[] {
  const [header, ...lines] = readFileSync(new URL(`../data/ohlcv/${file}`, import.meta.url), 'utf8').trim().split('\n');
  if (header !== 'timestamp,open,high,low,close,volume') throw new Error(`${file}: unexpected header ${header}`);
  return lines.map((line) => {
    const [ts, open, high, low, close, volume] = line.split(',').map(Number) as [number, number, number, number, number, number];
    return { ts, open, high, low, close, volume };
  });
}

/** A view of candles [from, to) that shares the full series' buffers, as a store-backed window could. */
export const slice = sliceWindow;

export interface AnalyzeExtras {
  others?: Record<string, CandleWindow>;
  inventory?: number;
  model?: unknown;
}

export function analyze(bot: BotDefinition, candles: CandleWindow, raw: Record<string, unknown> = {}, symbol = 'ETH/BTC', extras: AnalyzeExtras = {}): Signal {
  return bot.analyze({ symbol, timeframe: '5m', candles, params: bot.params.parse(raw), others: extras.others ?? {}, inventory: extras.inventory ?? 0, model: extras.model });
}

/** Candles built from closes (open = previous close, high/low around them, volume 1 unless given). */
export function fromCloses(closes: readonly number[], volumes?: readonly number[]): CandleWindow {
  return windowFromCandles(
    closes.map((close, i) => {
      const open = i === 0 ? close : closes[i - 1]!;
      return { ts: i * 300_000, open, high: Math.max(open, close) * 1.001, low: Math.min(open, close) * 0.999, close, volume: volumes?.[i] ?? 1 };
    }),
  );
}

/** n candles that never move and never trade. */
export function flat(n: number): CandleWindow {
  return windowFromCandles(Array.from({ length: n }, (_, i) => ({ ts: i * 300_000, open: 1, high: 1, low: 1, close: 1, volume: 0 })));
}
