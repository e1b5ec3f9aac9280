import { RandomForestClassifier } from 'ml-random-forest';
import { beforeAll, describe, expect, it } from 'vitest';
import { windowFromCandles, type CandleWindow } from '../src/core/candle.ts';
import { SignalSchema } from '../src/core/signal.ts';
import forest, { FEATURES, featuresAt, trainingSet } from './ml-forest.ts';
import { WINDOW, analyze, flat, fromCloses, readCandles, slice } from './_testkit.ts';

const DEFAULTS = forest.params.parse({});
const train = (candles: CandleWindow, raw: Record<string, unknown> = {}) =>
  forest.model!.train({ symbol: 'XMR/BTC', timeframe: '5m', candles, params: forest.params.parse(raw) });

/** A copy of candles [from, to): no buffer behind it holds anything later. */
function copyOf(w: CandleWindow, from: number, to: number): CandleWindow {
  return windowFromCandles(Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { ts: w.ts[i]!, open: w.open[i]!, high: w.high[i]!, low: w.low[i]!, close: w.close[i]!, volume: w.volume[i]! };
  }));
}

interface WalkForward {
  /** Out-of-sample predictions scored, and how many were right (P(up) > 0.5 vs close h later higher). */
  n: number;
  accuracy: number;
  /** Share of the scored candles that did go up: a constant guess scores max(up, 1 - up). */
  upShare: number;
  /** Accuracy of always guessing the training window's majority class (the naive walk-forward rival). */
  majority: number;
  /** Buy/sell signals at the default margin, and the share that were right. */
  signals: number;
  signalAccuracy: number;
  /** Smallest distance from a training window's end (exclusive) to a candle scored with its model. */
  minGap: number;
  trainMs: number[];
  modelBytes: number[];
}

/**
 * Trains on [t - trainingWindow, t) (a copy: later candles do not exist for it), predicts every
 * candle t..t+retrainEvery-1 from a window ending at that candle, scores it against the close
 * `horizon` candles later, then moves t on by retrainEvery: the schedule the pipeline runs.
 */
function walkForward(file: string): WalkForward {
  const all = windowFromCandles(readCandles(file));
  const symbol = file.split('-')[0]!.replace('_', '/');
  const { trainingWindow: W, retrainEvery: P, horizon: h } = DEFAULTS;
  const r: WalkForward = { n: 0, accuracy: 0, upShare: 0, majority: 0, signals: 0, signalAccuracy: 0, minGap: Infinity, trainMs: [], modelBytes: [] };
  let hits = 0;
  let ups = 0;
  let majorityHits = 0;
  let signalHits = 0;
  for (let t = W; t + h < all.length; t += P) {
    const started = performance.now();
    const model = train(copyOf(all, t - W, t));
    r.trainMs.push(performance.now() - started);
    r.modelBytes.push(JSON.stringify(model).length);
    const trainedUp = (model as { upRate: number }).upRate > 0.5 ? 1 : 0;
    for (let i = t; i < Math.min(t + P, all.length - h); i++) {
      const window = slice(all, Math.max(0, i + 1 - WINDOW), i + 1);
      // margin 0: buy is the forest's "up" (P > 0.5); anything else is its "not up".
      const call = analyze(forest, window, { margin: 0 }, symbol, { model });
      if (!call.reason.startsWith('P(')) continue;
      const realised = all.close[i + h]! > all.close[i]! ? 1 : 0;
      const predicted = call.action === 'buy' ? 1 : 0;
      r.n++;
      r.minGap = Math.min(r.minGap, i - t);
      ups += realised;
      if (predicted === realised) hits++;
      if (trainedUp === realised) majorityHits++;
      const signal = analyze(forest, window, {}, symbol, { model });
      if (signal.action !== 'hold') {
        r.signals++;
        if ((signal.action === 'buy' ? 1 : 0) === realised) signalHits++;
      }
    }
  }
  r.accuracy = hits / r.n;
  r.upShare = ups / r.n;
  r.majority = majorityHits / r.n;
  r.signalAccuracy = signalHits / r.signals;
  return r;
}

describe('ml-forest', () => {
  const xmr = windowFromCandles(readCandles('XMR_BTC-5m.csv'));
  let model: unknown;
  beforeAll(() => {
    model = train(slice(xmr, 1000, 1000 + DEFAULTS.trainingWindow));
  });

  it('refuses windows that give too few or too many training rows, with clear messages', () => {
    const few = forest.params.safeParse({ trainingWindow: 200, stride: 2 });
    expect(few.error!.issues).toMatchObject([{ path: ['trainingWindow'], message: expect.stringMatching(/^trainingWindow must leave at least 100 training rows/) }]);
    const many = forest.params.safeParse({ trainingWindow: 1000, stride: 2 });
    expect(many.error!.issues).toMatchObject([{ path: ['stride'], message: expect.stringMatching(/at most 400 training rows/) }]);
    expect(forest.params.safeParse({ trainingWindow: 1000, stride: 3 }).success).toBe(true);
    expect(forest.warmup(DEFAULTS)).toBe(21);
  });

  it('labels each training row by the close h candles later, never past the window', () => {
    const w = slice(xmr, 0, 300);
    for (const [h, stride] of [[6, 2], [1, 1], [12, 5]] as const) {
      const { X, y } = trainingSet(w, h, stride);
      // The newest row is the last candle that still has a close h candles on inside the window.
      const last = w.length - 1 - h;
      expect(y.length).toBe(Math.floor((last - 20) / stride) + 1);
      expect(X.at(-1)).toEqual(featuresAt(w, last));
      expect(y.at(-1)).toBe(w.close[last + h]! > w.close[last]! ? 1 : 0);
      expect(X.every((row) => row.length === FEATURES.length && row.every(Number.isFinite))).toBe(true);
    }
  });

  it('trains the same model twice from the same data, and another from another seed', () => {
    const again = train(slice(xmr, 1000, 1000 + DEFAULTS.trainingWindow));
    expect(again).toEqual(model);
    expect(JSON.stringify(again)).toBe(JSON.stringify(model));
    expect(train(slice(xmr, 1000, 1000 + DEFAULTS.trainingWindow), { seed: 7 })).not.toEqual(model);
  });

  it('does not look ahead: the model of a window is the same whether later candles exist or not', () => {
    const t = 1000 + DEFAULTS.trainingWindow;
    // A view into the whole series (later candles sit in the same buffer) vs a copy of the past only.
    expect(train(copyOf(xmr, 1000, t))).toEqual(model);
    // Given more history than trainingWindow, it trains on the latest trainingWindow candles only.
    expect(train(slice(xmr, 0, t))).toEqual(model);
    // What comes after the window cannot change it.
    const tampered = copyOf(xmr, 0, t + 50);
    for (let i = t; i < t + 50; i++) tampered.close[i] = 1;
    expect(train(slice(tampered, 1000, t))).toEqual(model);
  });

  it('stores plain JSON, small, that votes exactly as the forest it was trained as', () => {
    expect(JSON.parse(JSON.stringify(model))).toEqual(model);
    expect(JSON.stringify(model).length).toBeLessThan(200_000);
    const { X, y } = trainingSet(slice(xmr, 1000, 1000 + DEFAULTS.trainingWindow), DEFAULTS.horizon, DEFAULTS.stride);
    const rf = new RandomForestClassifier({
      seed: DEFAULTS.seed,
      nEstimators: DEFAULTS.trees,
      maxFeatures: DEFAULTS.maxFeatures,
      replacement: true,
      useSampleBagging: true,
      noOOB: true,
      treeOptions: { maxDepth: DEFAULTS.maxDepth, minNumSamples: DEFAULTS.minSplit },
    });
    rf.train(X, y);
    const loaded = RandomForestClassifier.load((model as { forest: Parameters<typeof RandomForestClassifier.load>[0] }).forest);
    const probe = [...X, ...trainingSet(slice(xmr, 3000, 3400), DEFAULTS.horizon, 1).X];
    expect(loaded.predictionValues(probe).to2DArray()).toEqual(rf.predictionValues(probe).to2DArray());
  });

  it('trains well under a second with the defaults', () => {
    // About 350 ms on an idle core; the best of two keeps a busy machine from failing it.
    const times = [2000, 2288].map((from) => {
      const started = performance.now();
      train(slice(xmr, from, from + DEFAULTS.trainingWindow));
      return performance.now() - started;
    });
    expect(Math.min(...times)).toBeLessThan(1500);
  });

  it('buys when the forest says up past the margin, sells when down, with confidence from the distance', () => {
    const seen = new Map<string, number>();
    for (let end = 1800; end < 2800; end += 3) {
      const s = analyze(forest, slice(xmr, end - WINDOW, end), {}, 'XMR/BTC', { model });
      expect(SignalSchema.parse(s)).toEqual(s);
      seen.set(s.action, (seen.get(s.action) ?? 0) + 1);
      const p = Number(/= ([0-9.]+) \(/.exec(s.reason)![1]);
      if (s.action === 'buy') expect(p).toBeGreaterThan(0.55);
      else if (s.action === 'sell') expect(p).toBeLessThan(0.45);
      else expect(s.confidence).toBe(0);
      if (s.action !== 'hold') expect(s.confidence).toBeCloseTo(Math.min(1, 0.2 + (0.8 * (Math.abs(p - 0.5) - 0.05)) / 0.45), 1);
    }
    expect([...seen.keys()].sort()).toEqual(['buy', 'hold', 'sell']);
  });

  it('holds without a model, with a malformed or mismatched one, and on short or flat windows', () => {
    const w = slice(xmr, 2000, 2000 + WINDOW);
    const m = model as Record<string, unknown> & { forest: { baseModel: Record<string, unknown> & { estimators: unknown[]; indexes: number[][] } } };
    const broken = (patch: (copy: typeof m) => void) => {
      const copy = JSON.parse(JSON.stringify(m)) as typeof m;
      patch(copy);
      return copy;
    };
    const cases: [unknown, RegExp][] = [
      [undefined, /^no trained model yet$/],
      [null, /^no trained model yet$/],
      ['forest', /malformed: a string/],
      [{}, /malformed: format/],
      [{ ...m, format: 'ml-forest/0' }, /malformed: format/],
      [{ ...m, features: ['ret1'] }, /other features/],
      [{ ...m, horizon: 3 }, /predicts 3 candles ahead, params say 6/],
      [{ ...m, upRate: 'half' }, /no training summary/],
      [{ ...m, forest: null, note: 'only 12 labelled candles, needs 100' }, /^model has no forest: only 12 labelled candles/],
      [{ ...m, forest: { name: 'RFRegression', baseModel: m.forest.baseModel } }, /not a random forest classifier/],
      [broken((c) => (c.forest.baseModel.estimators = [])), /not a random forest classifier/],
      [broken((c) => (c.forest.baseModel.indexes[0]![0] = 8)), /feature indexes/],
      [broken((c) => c.forest.baseModel.indexes.pop()), /feature indexes/],
      [broken((c) => ((c.forest.baseModel.estimators[3] as { root: unknown }).root = {})), /tree 3 is not a decision tree/],
      [broken((c) => ((c.forest.baseModel.estimators[0] as { root: { splitColumn: number } }).root.splitColumn = 99)), /tree 0 is not a decision tree/],
      [broken((c) => ((c.forest.baseModel.estimators[1] as { root: { left: unknown } }).root.left = { distribution: [['x']] })), /tree 1 is not a decision tree/],
    ];
    for (const [bad, reason] of cases) {
      const s = analyze(forest, w, {}, 'XMR/BTC', { model: bad });
      expect(s).toMatchObject({ action: 'hold', confidence: 0 });
      expect(s.reason).toMatch(reason);
    }
    for (const short of [flat(0), flat(1), flat(20), slice(xmr, 0, 3), flat(WINDOW), fromCloses(Array.from({ length: 60 }, () => 1))]) {
      expect(analyze(forest, short, {}, 'XMR/BTC', { model })).toMatchObject({ action: 'hold', confidence: 0 });
    }
  });

  it('checks a model again for params with another horizon, though it loaded that model object before', () => {
    const w = slice(xmr, 2000, 2000 + WINDOW);
    const first = analyze(forest, w, {}, 'XMR/BTC', { model });
    expect(first.reason).toMatch(/^P\(close 6 candles on is higher\)/);
    expect(analyze(forest, w, { horizon: 12 }, 'XMR/BTC', { model })).toMatchObject({ action: 'hold', reason: expect.stringMatching(/predicts 6 candles ahead, params say 12/) });
    expect(analyze(forest, w, {}, 'XMR/BTC', { model })).toEqual(first);
  });

  it('trains no forest on windows too short or too one-sided, and says why', () => {
    expect(train(slice(xmr, 0, 150))).toMatchObject({ forest: null, note: expect.stringMatching(/^only 62 labelled candles/) });
    const rising = fromCloses(Array.from({ length: 720 }, (_, i) => 1 + i * 0.001));
    expect(train(rising)).toMatchObject({ forest: null, note: expect.stringMatching(/too one-sided/) });
    expect(analyze(forest, slice(xmr, 2000, 2300), {}, 'XMR/BTC', { model: train(flat(720)) }).reason).toMatch(/^model has no forest/);
  });

  /*
   * Measured with the defaults (horizon 6, 720-candle window, 347 rows, 20 trees, depth 5), retrained
   * every 288 candles, scored on every later candle up to the next retrain, 17 folds per market:
   *   XMR/BTC: 0.557 of 5032 (went up 48.5%: always-down 0.516; training-majority guess 0.505)
   *   ETH/BTC: 0.521 of 5034 (went up 51.8%: always-up 0.518; training-majority guess 0.513)
   * The labels overlap (6 candles ahead, every candle), so the effective sample is nearer n / 6:
   * XMR's edge over always-down is about 3 standard errors, ETH's is within noise.
   */
  it('walk-forward out of sample: XMR/BTC 0.557 beats 0.5 and every constant guess; ETH/BTC 0.521 only 0.5', () => {
    const results = { 'XMR/BTC': walkForward('XMR_BTC-5m.csv'), 'ETH/BTC': walkForward('ETH_BTC-5m.csv') };
    for (const [symbol, r] of Object.entries(results)) {
      const ms = r.trainMs.slice(1);
      console.info(
        `ml-forest walk-forward ${symbol}: accuracy ${r.accuracy.toFixed(4)} over ${r.n} out-of-sample candles; up ${r.upShare.toFixed(4)}; ` +
          `training-majority ${r.majority.toFixed(4)}; ${r.signals} signals at margin 0.05, right ${r.signalAccuracy.toFixed(4)}; ` +
          `train ${Math.round(ms.reduce((a, b) => a + b, 0) / ms.length)} ms avg, ${Math.round(Math.max(...ms))} max; model ≤ ${Math.max(...r.modelBytes)} bytes`,
      );
      // Every scored candle is at or after the end of the window its model was trained on.
      expect(r.minGap).toBe(0);
      expect(r.n).toBeGreaterThan(5000);
      expect(Math.max(...r.modelBytes)).toBeLessThan(200_000);
    }
    const x = results['XMR/BTC'];
    expect(x.accuracy).toBeCloseTo(0.557, 2);
    expect(x.accuracy).toBeGreaterThan(Math.max(x.upShare, 1 - x.upShare));
    expect(x.accuracy).toBeGreaterThan(x.majority);
    const e = results['ETH/BTC'];
    expect(e.accuracy).toBeCloseTo(0.521, 2);
    expect(e.accuracy).toBeGreaterThan(0.5);
  });

  // Not part of the regular run (a minute or more): ML_FOREST_ALL=1 npx vitest run bots/ml-forest.test.ts
  it.runIf(process.env.ML_FOREST_ALL === '1')('walk-forward out of sample on the other BTC markets (logged, not asserted)', () => {
    for (const file of ['LTC', 'TRX', 'ZEC', 'DASH', 'ETC', 'ADA', 'XLM', 'NXT'].map((b) => `${b}_BTC-5m.csv`)) {
      const r = walkForward(file);
      const best = Math.max(r.upShare, 1 - r.upShare);
      console.info(`ml-forest walk-forward ${file}: accuracy ${r.accuracy.toFixed(4)} over ${r.n}; best constant ${best.toFixed(4)}; training-majority ${r.majority.toFixed(4)}; signals ${r.signals} right ${r.signalAccuracy.toFixed(4)}`);
      expect(r.minGap).toBe(0);
    }
  }, 600_000);
});
