import { describe, expect, it } from 'vitest';
import { windowFromCandles, type Candle, type CandleWindow } from '../src/core/candle.ts';
import { SignalSchema } from '../src/core/signal.ts';
import pairs from './pairs-zscore.ts';
import { WINDOW, analyze, flat, readCandles, slice } from './_testkit.ts';

const STEP = 300_000;

/** Deterministic uniform numbers in [0, 1) (LCG), so the synthetic markets are the same every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function candles(closes: readonly number[], ts: readonly number[]): CandleWindow {
  return windowFromCandles(closes.map((close, i): Candle => ({ ts: ts[i]!, open: close, high: close * 1.001, low: close * 0.999, close, volume: 1 })));
}

/**
 * A partner that random-walks and a market that is partner^beta times small noise, over n
 * candles; the last close of the market is moved by `shock` (log) off the relation.
 */
function pair(n: number, shock: number, beta = 1.5, seed = 7): { a: CandleWindow; b: CandleWindow; ts: number[] } {
  const r = rng(seed);
  const ts = Array.from({ length: n }, (_, i) => i * STEP);
  let logB = Math.log(0.05);
  const bs: number[] = [];
  const as: number[] = [];
  for (let i = 0; i < n; i++) {
    logB += (r() - 0.5) * 0.01;
    bs.push(Math.exp(logB));
    const noise = (r() - 0.5) * 0.002;
    as.push(Math.exp(0.3 + beta * logB + noise + (i === n - 1 ? shock : 0)));
  }
  return { a: candles(as, ts), b: candles(bs, ts), ts };
}

const run = (a: CandleWindow, b: CandleWindow | undefined, params: Record<string, unknown> = {}, inventory = 0) =>
  analyze(pairs, a, params, 'XMR/BTC', { others: b ? { 'ETH/BTC': b } : {}, inventory });

describe('pairs-zscore', () => {
  it('refuses entry >= full and an exit outside ±entry, each with a clear message on its field', () => {
    const full = pairs.params.safeParse({ entry: 4, full: 4 });
    expect(full.error!.issues).toMatchObject([{ path: ['entry'], message: 'entry must be less than full' }]);
    const exit = pairs.params.safeParse({ entry: 2, exit: 2 });
    expect(exit.error!.issues).toMatchObject([{ path: ['exit'], message: 'exit must lie strictly between -entry and +entry' }]);
    expect(pairs.params.safeParse({ partner: 'ETH BTC' }).success).toBe(false);
    expect(pairs.params.safeParse({ entry: 2, exit: -1.5, partner: 'LTC/BTC' }).success).toBe(true);
  });

  it('asks for the partner window', () => {
    expect(pairs.otherMarkets!(pairs.params.parse({}), 'XMR/BTC')).toEqual(['ETH/BTC']);
    expect(pairs.otherMarkets!(pairs.params.parse({ partner: 'LTC/BTC' }), 'XMR/BTC')).toEqual(['LTC/BTC']);
  });

  it('buys the market when it is cheap against the partner, sells when rich, holds in between', () => {
    // The noise has sd ≈ 0.0006 in log: a 1% shock is many sd.
    expect(run(pair(150, -0.01).a, pair(150, -0.01).b)).toMatchObject({ action: 'buy', confidence: 1 });
    expect(run(pair(150, 0.01).a, pair(150, 0.01).b)).toMatchObject({ action: 'sell', confidence: 1 });
    const calm = run(pair(150, 0).a, pair(150, 0).b);
    expect(calm).toMatchObject({ action: 'hold', confidence: 0 });
    // A small shock: past entry, short of full, so partly sure.
    const { a, b } = pair(150, -0.0012);
    const some = run(a, b);
    expect(some.action).toBe('buy');
    expect(some.confidence).toBeGreaterThan(0.25);
    expect(some.confidence).toBeLessThan(1);
  });

  it('estimates the hedge ratio by OLS over the lookback', () => {
    for (const beta of [0.5, 1.5, -0.8]) {
      const { a, b } = pair(150, -0.01, beta, 11);
      const s = run(a, b);
      const fitted = Number(/β (-?[0-9.]+)/.exec(s.reason)![1]);
      expect(fitted).toBeCloseTo(beta, 1);
    }
  });

  it('sells a held position once the spread reverts past exit, and not before; without a holding it waits', () => {
    const { a, b } = pair(150, 0.0005);
    const z = Number(/z (-?[0-9.]+)/.exec(run(a, b).reason)![1]);
    expect(Math.abs(z)).toBeLessThan(2);
    expect(run(a, b, { exit: z - 0.1 }, 0.05)).toMatchObject({ action: 'sell' });
    expect(run(a, b, { exit: z - 0.1 }, 0.05).confidence).toBeGreaterThan(0);
    expect(run(a, b, { exit: z + 0.1 }, 0.05)).toMatchObject({ action: 'hold', confidence: 0 });
    expect(run(a, b, { exit: z - 0.1 }, 0)).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('aligns the markets by timestamp: gaps in either count only where both traded', () => {
    const { a, b, ts } = pair(220, -0.01);
    // Each market misses different candles; the common ones are what the spread is made of.
    const missA = new Set([5, 40, 41, 42, 100, 150, 199]);
    const missB = new Set([7, 8, 60, 120, 121, 180, 210]);
    const keep = (w: CandleWindow, miss: Set<number>) => {
      const idx = ts.map((_, i) => i).filter((i) => !miss.has(i));
      return candles(idx.map((i) => w.close[i]!), idx.map((i) => ts[i]!));
    };
    const both = new Set([...missA, ...missB]);
    const gappy = run(keep(a, missA), keep(b, missB));
    expect(gappy.action).toBe('buy');
    expect(gappy).toEqual(run(keep(a, both), keep(b, both)));
    // Partner candles after the decision candle are never read.
    const later = candles([...Array.from(keep(b, missB).close), 9, 9], [...ts.filter((_, i) => !missB.has(i)), 220 * STEP, 221 * STEP]);
    expect(run(keep(a, missA), later)).toEqual(gappy);
  });

  it('holds when it is its own partner, the partner is missing, short, or has no candle at the decision time', () => {
    const { a, b, ts } = pair(150, -0.01);
    expect(analyze(pairs, a, {}, 'ETH/BTC', { others: { 'ETH/BTC': a } })).toMatchObject({ action: 'hold', confidence: 0 });
    expect(run(a, undefined)).toMatchObject({ action: 'hold', confidence: 0, reason: 'no candles of partner ETH/BTC' });
    expect(run(a, slice(b, 100, 150))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(run(a, slice(b, 0, 149)).reason).toMatch(/no candle at the decision time/);
    expect(run(slice(a, 0, 80), b)).toMatchObject({ action: 'hold', confidence: 0 });
    // Only 100 common times in the last 150: not enough for lookback 100 + the last.
    const sparse = candles(Array.from(b.close).filter((_, i) => i % 3 !== 1), ts.filter((_, i) => i % 3 !== 1));
    expect(run(a, sparse).reason).toMatch(/^only 100 candles at times both markets traded/);
    expect(run(flat(WINDOW), flat(WINDOW))).toMatchObject({ action: 'hold', confidence: 0 });
    expect(run(a, candles(Array.from({ length: 150 }, () => 0.05), ts))).toMatchObject({ action: 'hold', confidence: 0 });
  });

  it('over real markets paired with ETH/BTC: valid, deterministic signals, some of each side', () => {
    const eth = windowFromCandles(readCandles('ETH_BTC-5m.csv'));
    const seen = new Set<string>();
    for (const file of ['XMR_BTC-5m.csv', 'LTC_BTC-5m.csv']) {
      const all = windowFromCandles(readCandles(file));
      let e = 0;
      for (let end = WINDOW; end <= all.length; end += 13) {
        while (e < eth.length && eth.ts[e]! <= all.ts[end - 1]!) e++;
        const w = slice(all, end - WINDOW, end);
        const partner = slice(eth, Math.max(0, e - WINDOW), e);
        const s = run(w, partner, {}, 0.05);
        expect(SignalSchema.parse(s)).toEqual(s);
        expect(run(w, partner, {}, 0.05)).toEqual(s);
        seen.add(s.action);
      }
    }
    expect([...seen].sort()).toEqual(['buy', 'hold', 'sell']);
  });
});
