import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BotDefinition } from '../src/core/bot.ts';
import { windowFromCandles, type CandleWindow } from '../src/core/candle.ts';
import { SignalSchema, type Signal } from '../src/core/signal.ts';
import { discoverBots, isBotFileName, type DiscoveryReport } from '../src/registry/discover.ts';
import { WINDOW, analyze, flat, readCandles, slice, type AnalyzeExtras } from './_testkit.ts';

/**
 * Every bot in this folder, whatever it is, passes these: it loads, its signals over real data are
 * valid and deterministic, it says something on some market, it holds on windows it cannot read,
 * and it never looks ahead. Bot-specific rules are tested in bots/<id>.test.ts.
 */

const dir = fileURLToPath(new URL('.', import.meta.url));
const files = readdirSync(dir).filter(isBotFileName).sort();
const MARKETS = ['ETH_BTC-5m.csv', 'XMR_BTC-5m.csv', 'TRX_BTC-5m.csv', 'UNITTEST_BTC-30m.csv'].map((file) => ({
  symbol: `${file.split('-')[0]!.replace('_', '/')}`,
  all: windowFromCandles(readCandles(file)),
}));
/** Decision points tried per market: every STRIDE-th candle keeps the suite fast and still covers every regime. */
const STRIDE = 7;

/** Every bundled series by symbol (5m where there are several), loaded when a pairs bot asks for it. */
const seriesCache = new Map<string, CandleWindow>();
function series(symbol: string): CandleWindow | undefined {
  if (!seriesCache.has(symbol)) {
    const file = readdirSync(new URL('../data/ohlcv/', import.meta.url)).find((f) => f.startsWith(`${symbol.replace('/', '_')}-5m`)) ?? readdirSync(new URL('../data/ohlcv/', import.meta.url)).find((f) => f.startsWith(`${symbol.replace('/', '_')}-`));
    if (!file) return undefined;
    seriesCache.set(symbol, windowFromCandles(readCandles(file)));
  }
  return seriesCache.get(symbol);
}

/** What the analysis stage gives a bot besides its window: other markets up to the same candle, and its model. */
function extrasFor(bot: BotDefinition, symbol: string, window: CandleWindow, model: unknown): AnalyzeExtras {
  const params = bot.params.parse({});
  const others: Record<string, CandleWindow> = {};
  const end = window.length > 0 ? window.ts[window.length - 1]! : -Infinity;
  for (const other of bot.otherMarkets?.(params, symbol) ?? []) {
    const all = series(other);
    if (!all) continue;
    let upto = 0;
    while (upto < all.length && all.ts[upto]! <= end) upto++;
    if (upto > 0) others[other] = slice(all, Math.max(0, upto - WINDOW), upto);
  }
  return { others, model };
}

/** A learning bot's model, trained as the pipeline would: on the candles before the first decision point only. */
function trainedModel(bot: BotDefinition, symbol: string, all: CandleWindow, before: number): unknown {
  if (!bot.model) return undefined;
  const params = bot.params.parse({});
  const from = Math.max(0, before - bot.model.trainingWindow(params));
  return bot.model.train({ symbol, timeframe: '5m', candles: slice(all, from, before), params });
}

let report: DiscoveryReport;
beforeAll(async () => {
  report = await discoverBots(dir);
});

it('loads every bot file in bots/: none is dropped, none fails', () => {
  expect(report.failed).toEqual([]);
  expect(report.loaded.map((b) => b.file.slice(dir.length).replace(/^\//, '')).sort()).toEqual(files);
  expect(report.loaded.length).toBe(files.length);
});

/** Where decisions are tried: after the warm-up, and for a learning bot after its first training window. */
function firstDecision(bot: BotDefinition, all: CandleWindow): number {
  const params = bot.params.parse({});
  const training = bot.model ? Math.min(bot.model.trainingWindow(params), Math.floor(all.length / 2)) : 0;
  return Math.max(bot.warmup(params), training);
}

function decisionPoints(bot: BotDefinition, all: CandleWindow): number[] {
  const ends: number[] = [];
  for (let end = firstDecision(bot, all); end <= all.length; end += STRIDE) ends.push(end);
  return ends;
}

describe.each(files)('%s', (file) => {
  let bot: BotDefinition;
  beforeAll(() => {
    const found = report.loaded.find((b) => b.file === `${dir}${file}`);
    if (!found) throw new Error(`${file} did not load: ${report.failed.find((f) => f.file.endsWith(file))?.error ?? 'not found'}`);
    bot = found.definition;
  });

  it('keeps to its role: a regime bot only labels regimes, a veto bot only vetoes (sell) or holds', () => {
    const all = MARKETS[0]!.all;
    for (const end of decisionPoints(bot, all).filter((_, i) => i % 10 === 0)) {
      const signal = analyze(bot, slice(all, Math.max(0, end - WINDOW), end));
      if (bot.role === 'regime') expect(signal.action).toBe('hold');
      else expect(signal.regime).toBeUndefined();
      if (bot.role === 'veto') expect(signal.action).not.toBe('buy');
    }
  });

  it('has a default warmup that fits the default window', () => {
    const warmup = bot.warmup(bot.params.parse({}));
    expect(Number.isInteger(warmup) && warmup >= 1 && warmup <= WINDOW).toBe(true);
  });

  it('gives only valid signals over real markets, deterministically, and a non-neutral one somewhere', () => {
    let acted = 0;
    for (const { symbol, all } of MARKETS) {
      const model = trainedModel(bot, symbol, all, firstDecision(bot, all));
      for (const end of decisionPoints(bot, all)) {
        const window = slice(all, Math.max(0, end - WINDOW), end);
        const signal = analyze(bot, window, {}, symbol, extrasFor(bot, symbol, window, model));
        const parsed = SignalSchema.safeParse(signal);
        if (!parsed.success) throw new Error(`${symbol} at candle ${end}: ${JSON.stringify(signal)}: ${parsed.error.message}`);
        expect(parsed.data).toEqual(signal);
        if (signal.action !== 'hold' || signal.regime !== undefined) {
          acted++;
          expect(signal.confidence).toBeGreaterThan(0);
        }
        if (end % (STRIDE * 50) === 0) expect(analyze(bot, window, {}, symbol, extrasFor(bot, symbol, window, model))).toEqual(signal);
      }
    }
    expect(acted).toBeGreaterThan(0);
  });

  it('does not look ahead: the signal at t is the same when the candles after t do not exist', () => {
    const pastCopy = (w: CandleWindow, from: number, to: number) =>
      windowFromCandles(Array.from({ length: to - from }, (_, k) => {
        const i = from + k;
        return { ts: w.ts[i]!, open: w.open[i]!, high: w.high[i]!, low: w.low[i]!, close: w.close[i]!, volume: w.volume[i]! };
      }));
    for (const { symbol, all } of MARKETS.slice(0, 2)) {
      const first = firstDecision(bot, all);
      // A model trained on a copy of the past alone is the one trained on a view of the whole series.
      const model = trainedModel(bot, symbol, all, first);
      const pastModel = bot.model ? trainedModel(bot, symbol, pastCopy(all, 0, first), first) : undefined;
      expect(JSON.stringify(pastModel)).toEqual(JSON.stringify(model));
      for (const end of decisionPoints(bot, all).filter((_, i) => i % 40 === 0)) {
        const from = Math.max(0, end - WINDOW);
        // The first window shares its buffers with the whole series; the second is a copy of the past only.
        const view = slice(all, from, end);
        const withFuture = analyze(bot, view, {}, symbol, extrasFor(bot, symbol, view, model));
        const copy = pastCopy(all, from, end);
        const pastOthers = Object.fromEntries(Object.entries(extrasFor(bot, symbol, view, model).others ?? {}).map(([s, w]) => [s, pastCopy(w, 0, w.length)]));
        expect(analyze(bot, copy, {}, symbol, { others: pastOthers, model: pastModel })).toEqual(withFuture);
      }
    }
  });

  it('holds with zero confidence on windows too short, empty or flat', () => {
    const real = MARKETS[0]!.all;
    for (const w of [flat(0), flat(1), flat(5), flat(WINDOW), slice(real, 0, 3)]) {
      const signal: Signal = analyze(bot, w);
      expect(SignalSchema.parse(signal)).toEqual(signal);
      expect(signal).toMatchObject({ action: 'hold', confidence: 0 });
      expect(signal.regime).toBeUndefined();
    }
  });

  it('does not change the window it is given', () => {
    const w = slice(MARKETS[0]!.all, 1000, 1000 + WINDOW);
    const before = Array.from(w.close);
    analyze(bot, w);
    expect(Array.from(w.close)).toEqual(before);
  });
});
