import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BotDefinition } from '../src/core/bot.ts';
import { windowFromCandles, type CandleWindow } from '../src/core/candle.ts';
import { SignalSchema, type Signal } from '../src/core/signal.ts';
import { discoverBots, isBotFileName, type DiscoveryReport } from '../src/registry/discover.ts';
import { WINDOW, analyze, flat, readCandles, slice } from './_testkit.ts';

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

let report: DiscoveryReport;
beforeAll(async () => {
  report = await discoverBots(dir);
});

it('loads every bot file in bots/: none is dropped, none fails', () => {
  expect(report.failed).toEqual([]);
  expect(report.loaded.map((b) => b.file.slice(dir.length).replace(/^\//, '')).sort()).toEqual(files);
  expect(report.loaded.length).toBe(files.length);
});

function decisionPoints(bot: BotDefinition, all: CandleWindow): number[] {
  const warmup = bot.warmup(bot.params.parse({}));
  const ends: number[] = [];
  for (let end = warmup; end <= all.length; end += STRIDE) ends.push(end);
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
      for (const end of decisionPoints(bot, all)) {
        const window = slice(all, Math.max(0, end - WINDOW), end);
        const signal = analyze(bot, window, {}, symbol);
        const parsed = SignalSchema.safeParse(signal);
        if (!parsed.success) throw new Error(`${symbol} at candle ${end}: ${JSON.stringify(signal)}: ${parsed.error.message}`);
        expect(parsed.data).toEqual(signal);
        if (signal.action !== 'hold' || signal.regime !== undefined) {
          acted++;
          expect(signal.confidence).toBeGreaterThan(0);
        }
        if (end % (STRIDE * 50) === 0) expect(analyze(bot, window, {}, symbol)).toEqual(signal);
      }
    }
    expect(acted).toBeGreaterThan(0);
  });

  it('does not look ahead: the signal at t is the same when the candles after t do not exist', () => {
    for (const { symbol, all } of MARKETS.slice(0, 2)) {
      for (const end of decisionPoints(bot, all).filter((_, i) => i % 40 === 0)) {
        const from = Math.max(0, end - WINDOW);
        // The first window shares its buffers with the whole series; the second is a copy of the past only.
        const withFuture = analyze(bot, slice(all, from, end), {}, symbol);
        const pastOnly = slice(all, 0, end);
        const copy = windowFromCandles(Array.from({ length: end - from }, (_, k) => {
          const i = from + k;
          return { ts: pastOnly.ts[i]!, open: pastOnly.open[i]!, high: pastOnly.high[i]!, low: pastOnly.low[i]!, close: pastOnly.close[i]!, volume: pastOnly.volume[i]! };
        }));
        expect(analyze(bot, copy, {}, symbol)).toEqual(withFuture);
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
