import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../core/candle.ts';
import { parseCandleCsv, readCandleFile } from './candleCsv.ts';
import { resolveReplayFiles } from './replayFiles.ts';
import { readTradesFile, type Trade } from './trades.ts';
import { candlesToCsv, formatNumber, TradeCandleAggregator, tradesToCandles } from './tradesToCandles.ts';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));
const M = 60_000;
const T = 1570752000000;

function compare(built: Candle[], reference: Candle[]) {
  const byTs = new Map(built.map((c) => [c.ts, c]));
  let overlap = 0;
  let ohlcExact = 0;
  let volumeExact = 0;
  let volumeAbsDiff = 0;
  let referenceVolume = 0;
  for (const r of reference) {
    const b = byTs.get(r.ts);
    if (!b) continue;
    overlap++;
    if (b.open === r.open && b.high === r.high && b.low === r.low && b.close === r.close) ohlcExact++;
    if (b.volume === r.volume) volumeExact++;
    volumeAbsDiff += Math.abs(b.volume - r.volume);
    referenceVolume += r.volume;
  }
  return { overlap, ohlcShare: ohlcExact / overlap, volumeShare: volumeExact / overlap, volumeRelDiff: volumeAbsDiff / referenceVolume };
}

describe('aggregating the real XRP/ETH trades', () => {
  const { trades } = readTradesFile(`${DATA}trades/XRP_ETH-trades.csv`);

  // Measured: the trades file is the complete tape behind the candle files. Every candle
  // (2,469 at 1m, 706 at 5m) is rebuilt exactly, OHLC and volume, with none missing or extra.
  it.each([
    ['1m', 2469],
    ['5m', 706],
  ] as const)('reproduces data/ohlcv/XRP_ETH-%s.csv exactly', (tf, count) => {
    const reference = readCandleFile(`${DATA}ohlcv/XRP_ETH-${tf}.csv`, tf).accepted.map((r) => r.candle);
    const { candles, lateTrades, invalidTrades } = tradesToCandles(trades, tf);
    expect({ lateTrades, invalidTrades }).toEqual({ lateTrades: 0, invalidTrades: 0 });
    expect(candles.length).toBe(count);
    expect(reference.length).toBe(count);
    expect(compare(candles, reference)).toEqual({ overlap: count, ohlcShare: 1, volumeShare: 1, volumeRelDiff: 0 });
    expect(candles).toEqual(reference);
    // And printed back, byte for byte the bundled file.
    expect(candlesToCsv(candles)).toBe(readFileSync(`${DATA}ohlcv/XRP_ETH-${tf}.csv`, 'utf8'));
  });

  it('gives the same candles pushed one by one, in one batch, or in uneven chunks', () => {
    const one = new TradeCandleAggregator('1m');
    const oneByOne: Candle[] = [];
    for (const t of trades) oneByOne.push(...one.push(t));
    oneByOne.push(one.flush()!);

    const batch = new TradeCandleAggregator('1m');
    const batched = batch.pushMany(trades);
    batched.push(batch.flush()!);

    const chunk = new TradeCandleAggregator('1m');
    const chunked: Candle[] = [];
    let seed = 7;
    for (let i = 0; i < trades.length; ) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const n = 1 + (seed % 97);
      chunked.push(...chunk.pushMany(trades.slice(i, i + n)));
      i += n;
    }
    chunked.push(chunk.flush()!);

    expect(oneByOne.length).toBe(2469);
    expect(batched).toEqual(oneByOne);
    expect(chunked).toEqual(oneByOne);
  });
});

describe('TradeCandleAggregator', () => {
  const trade = (ts: number, price: number, amount = 1): Trade => ({ ts, price, amount });

  it('closes a candle when a trade of a later bucket arrives', () => {
    const agg = new TradeCandleAggregator('1m');
    expect(agg.push(trade(T + 1_000, 10, 2))).toEqual([]);
    expect(agg.push(trade(T + 20_000, 12, 1))).toEqual([]);
    expect(agg.push(trade(T + 40_000, 9, 1))).toEqual([]);
    expect(agg.push(trade(T + 59_999, 11, 3))).toEqual([]);
    expect(agg.push(trade(T + M, 11.5, 1))).toEqual([{ ts: T, open: 10, high: 12, low: 9, close: 11, volume: 7 }]);
    expect(agg.flush()).toEqual({ ts: T + M, open: 11.5, high: 11.5, low: 11.5, close: 11.5, volume: 1 });
    expect(agg.flush()).toBeUndefined();
  });

  it('counts late trades and never changes a closed candle', () => {
    const agg = new TradeCandleAggregator('1m');
    agg.push(trade(T + 1_000, 10));
    const [closed] = agg.push(trade(T + M + 1_000, 20));
    const snapshot = structuredClone(closed);
    expect(agg.push(trade(T + 30_000, 1000, 50))).toEqual([]);
    expect(agg.push(trade(T - 5 * M, 1000, 50))).toEqual([]);
    expect(agg.lateTrades).toBe(2);
    expect(closed).toEqual(snapshot);
    expect(agg.flush()).toEqual({ ts: T + M, open: 20, high: 20, low: 20, close: 20, volume: 1 });
    // After a flush its bucket is closed too.
    expect(agg.push(trade(T + M + 50_000, 5))).toEqual([]);
    expect(agg.lateTrades).toBe(3);
    expect(agg.flush()).toBeUndefined();
  });

  it('orders trades within the open bucket by time, not arrival', () => {
    const agg = new TradeCandleAggregator('1m');
    agg.push(trade(T + 30_000, 10));
    agg.push(trade(T + 10_000, 8)); // earlier in the same, still open bucket: not late
    agg.push(trade(T + 50_000, 12));
    agg.push(trade(T + 40_000, 11));
    expect(agg.lateTrades).toBe(0);
    expect(agg.flush()).toEqual({ ts: T, open: 8, high: 12, low: 8, close: 12, volume: 4 });
  });

  it('makes no candle for buckets without trades', () => {
    const { candles } = tradesToCandles([trade(T + 5_000, 1), trade(T + 3 * M + 5_000, 2), trade(T + 3 * M + 6_000, 3)], '1m');
    expect(candles.map((c) => c.ts)).toEqual([T, T + 3 * M]);
  });

  it('sums volume without float noise', () => {
    const amounts = [...Array<number>(10).fill(0.1), 0.00000003, 1234.56789012, 0.7];
    const naive = amounts.reduce((a, b) => a + b, 0);
    expect(naive).toBe(1236.2678901499999); // the float sum is noisy...
    const { candles } = tradesToCandles(amounts.map((a, i) => trade(T + i, 1, a)), '1m');
    expect(candles[0]!.volume).toBe(1236.26789015); // ...the decimal one is not
    expect(tradesToCandles([trade(T, 1, 0.1), trade(T + 1, 1, 0.2)], '1m').candles[0]!.volume).toBe(0.3);
  });

  it('counts and ignores unusable trades', () => {
    const agg = new TradeCandleAggregator('1m');
    agg.push(trade(Number.NaN, 1));
    agg.push(trade(T, 0));
    agg.push(trade(T, 1, -1));
    agg.push(trade(T, 2, 1));
    expect(agg.invalidTrades).toBe(3);
    expect(agg.flush()).toEqual({ ts: T, open: 2, high: 2, low: 2, close: 2, volume: 1 });
  });

  it('uses the bucket open time of longer timeframes', () => {
    const { candles } = tradesToCandles([trade(T + 7 * M, 1), trade(T + 61 * M, 2)], '1h');
    expect(candles.map((c) => c.ts)).toEqual([T, T + 60 * M]);
  });
});

describe('candlesToCsv and formatNumber', () => {
  it('prints without exponent notation or float noise', () => {
    expect(formatNumber(1.41342e-3)).toBe('0.00141342');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(1e-8)).toBe('0.00000001');
    expect(formatNumber(3.7e-7)).toBe('0.00000037');
    expect(formatNumber(1e21)).toBe('1000000000000000000000');
    expect(formatNumber(1.1 * 3)).toBe('3.3');
    expect(formatNumber(431401.978695)).toBe('431401.978695');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(2 ** 53 - 1)).toBe('9007199254740991');
    expect(() => formatNumber(Number.NaN)).toThrow(RangeError);
  });

  it('writes the header and one row per candle', () => {
    const csv = candlesToCsv([
      { ts: T, open: 0.00141342, high: 0.1 + 0.2, low: 1e-7, close: 0.0014, volume: 1482 },
      { ts: T + M, open: 1, high: 1, low: 1, close: 1, volume: 0 },
    ]);
    expect(csv).toBe(`timestamp,open,high,low,close,volume\n${T},0.00141342,0.3,0.0000001,0.0014,1482\n${T + M},1,1,1,1,0\n`);
  });

  it('round-trips every bundled candle file, with no exponent left', () => {
    for (const file of resolveReplayFiles(['ohlcv'], { cwd: DATA })) {
      const text = readFileSync(file.path, 'utf8');
      const candles = parseCandleCsv(text, { timeframe: file.timeframe, source: file.path }).accepted.map((r) => r.candle);
      const csv = candlesToCsv(candles);
      expect(csv.slice(csv.indexOf('\n'))).not.toMatch(/e/i);
      expect(parseCandleCsv(csv, { timeframe: file.timeframe, source: 'out' }).accepted.map((r) => r.candle)).toEqual(candles);
      // Identical text, except for the 3 rows of UNITTEST 1m whose volume the source wrote as 1e-8 etc.
      const out = csv.split('\n');
      const differing = text.split('\n').filter((line, i) => line !== out[i]).length;
      expect(differing).toBe(file.path.endsWith('UNITTEST_BTC-1m.csv') ? 3 : 0);
    }
  });
});
