import { RandomForestClassifier } from 'ml-random-forest';
import { defineBot, z } from '../src/core/bot.ts';
import { sliceWindow, type CandleWindow } from '../src/core/candle.ts';
import { hold } from '../src/core/signal.ts';

/** Tag of the model JSON this version writes and reads; a model of another shape is refused. */
const FORMAT = 'ml-forest/1';

/**
 * What the forest sees at candle i, all from candles i-20..i (never a later one). Returns are
 * scaled by the recent volatility so that a tree split learned in a calm period still means
 * something in a wild one; trees need no other normalisation (they only compare thresholds).
 */
export const FEATURES = ['ret1/vol', 'ret3/vol', 'ret12/vol', 'rsi14', 'vol20', 'volumeZ20', 'range20', 'body'] as const;

/** Candles before i that the features read: feature(i) needs i >= LOOKBACK. */
const LOOKBACK = 20;

/** Training needs this many labelled candles, and some of each class, to be worth a model. */
const MIN_ROWS = 100;
const MIN_CLASS_SHARE = 0.05;
/** Each split weighs every candidate threshold against every row: time grows with rows², so few. */
const MAX_ROWS = 400;

const params = z
  .object({
    horizon: z.number().int().min(1).max(48).default(6).describe('Candles ahead whose close is predicted to be higher (label) or not than the current one'),
    margin: z.number().min(0).max(0.4).default(0.05).describe('P(up) must exceed 0.5 + margin to buy, or fall below 0.5 - margin to sell'),
    trees: z.number().int().min(1).max(25).default(20).describe('Trees in the forest'),
    maxDepth: z.number().int().min(1).max(6).default(5).describe('Deepest split of each tree'),
    stride: z
      .number()
      .int()
      .min(1)
      .max(12)
      .default(2)
      .describe('Train on every stride-th candle of the window: neighbours share most of their horizon, and training time grows with the square of the rows'),
    minSplit: z.number().int().min(5).max(200).default(20).describe('A node of this many training rows or fewer is a leaf: no split on a handful of candles'),
    maxFeatures: z.number().min(0.125).max(0.75).default(0.5).describe('Share of the 8 features each tree draws, with replacement (0.125: one)'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(42).describe('Seed of the bagging and feature draws: same data, same seed, same model'),
    trainingWindow: z.number().int().min(200).max(1000).default(720).describe('Most candles to train on (the latest ones)'),
    retrainEvery: z.number().int().min(12).max(2016).default(288).describe('Candles per training period (288 = one day of 5m candles)'),
  })
  .refine((p) => rowsOf(p.trainingWindow, p.horizon, p.stride) >= MIN_ROWS, {
    message: `trainingWindow must leave at least ${MIN_ROWS} training rows (every stride-th candle) after the ${LOOKBACK}-candle feature lookback and the horizon`,
    path: ['trainingWindow'],
  })
  .refine((p) => rowsOf(p.trainingWindow, p.horizon, p.stride) <= MAX_ROWS, {
    message: `trainingWindow / stride must give at most ${MAX_ROWS} training rows: raise stride or shorten the window`,
    path: ['stride'],
  });

/** Training rows a window of `length` candles gives (see trainingSet). */
function rowsOf(length: number, horizon: number, stride: number): number {
  const span = length - 1 - horizon - LOOKBACK;
  return span < 0 ? 0 : Math.floor(span / stride) + 1;
}

type Params = z.infer<typeof params>;

/** Vol-scaled returns have heavy tails on jumpy markets; a cap keeps a few spikes from owning a split. */
const CAP = 10;

/** The features of candle i (LOOKBACK <= i < length), or null where the window cannot give them. */
export function featuresAt(c: CandleWindow, i: number): number[] | null {
  if (i < LOOKBACK || i >= c.length) return null;
  const close = c.close;
  let sum = 0;
  let sumSq = 0;
  let gains = 0;
  let losses = 0;
  for (let k = i - LOOKBACK + 1; k <= i; k++) {
    const r = Math.log(close[k]! / close[k - 1]!);
    sum += r;
    sumSq += r * r;
    if (k > i - 14) {
      if (r > 0) gains += r;
      else losses -= r;
    }
  }
  const mean = sum / LOOKBACK;
  const vol = Math.sqrt(Math.max(0, sumSq / LOOKBACK - mean * mean));
  const scaled = (from: number) => {
    const r = Math.log(close[i]! / close[from]!);
    return vol > 0 ? clamp(r / (vol * Math.sqrt(i - from)), -CAP, CAP) : 0;
  };
  let vSum = 0;
  let vSq = 0;
  let hi = -Infinity;
  let lo = Infinity;
  for (let k = i - LOOKBACK + 1; k <= i; k++) {
    const v = c.volume[k]!;
    vSum += v;
    vSq += v * v;
    hi = Math.max(hi, c.high[k]!);
    lo = Math.min(lo, c.low[k]!);
  }
  const vMean = vSum / LOOKBACK;
  const vSd = Math.sqrt(Math.max(0, vSq / LOOKBACK - vMean * vMean));
  const bar = c.high[i]! - c.low[i]!;
  const row = [
    scaled(i - 1),
    scaled(i - 3),
    scaled(i - 12),
    // Share of the last 14 moves that went up, by size: RSI/100 without its smoothing.
    gains + losses > 0 ? gains / (gains + losses) : 0.5,
    vol,
    vSd > 0 ? clamp((c.volume[i]! - vMean) / vSd, -CAP, CAP) : 0,
    hi > lo ? (close[i]! - lo) / (hi - lo) : 0.5,
    bar > 0 ? (close[i]! - c.open[i]!) / bar : 0,
  ];
  return row.every(Number.isFinite) ? row : null;
}

/** Rows and labels of a training window: label 1 when the close `horizon` candles later is higher. */
export function trainingSet(c: CandleWindow, horizon: number, stride = 1): { X: number[][]; y: number[] } {
  const X: number[][] = [];
  const y: number[] = [];
  // i + horizon < length: no label reads a candle past the window's end. Counted back from the
  // newest labelled candle so that it is always in, whatever the window's length.
  const last = c.length - 1 - horizon;
  const first = last - Math.floor((last - LOOKBACK) / stride) * stride;
  for (let i = first; i <= last; i += stride) {
    const row = featuresAt(c, i);
    if (row === null) continue;
    X.push(row);
    y.push(c.close[i + horizon]! > c.close[i]! ? 1 : 0);
  }
  return { X, y };
}

export interface ForestModel {
  format: typeof FORMAT;
  features: string[];
  horizon: number;
  /** Labelled candles trained on and the share that went up: the base rate the forest must beat. */
  rows: number;
  upRate: number;
  /** RandomForestClassifier#toJSON(), through JSON; null when the window could not train one. */
  forest: unknown;
  /** Why there is no forest. */
  note?: string;
}

function train(candles: CandleWindow, p: Params): ForestModel {
  const from = Math.max(0, candles.length - p.trainingWindow);
  const w = sliceWindow(candles, from, candles.length);
  const { X, y } = trainingSet(w, p.horizon, p.stride);
  const ups = y.reduce((a, b) => a + b, 0);
  const base = { format: FORMAT, features: [...FEATURES] as string[], horizon: p.horizon, rows: y.length, upRate: y.length > 0 ? ups / y.length : 0 } as const;
  if (y.length < MIN_ROWS) return { ...base, forest: null, note: `only ${y.length} labelled candles, needs ${MIN_ROWS}` };
  if (Math.min(ups, y.length - ups) < MIN_CLASS_SHARE * y.length) {
    return { ...base, forest: null, note: `${ups} of ${y.length} labelled candles went up: too one-sided to learn from` };
  }
  const rf = new RandomForestClassifier({
    seed: p.seed,
    nEstimators: p.trees,
    // A float in (0, 1) is read as a share of the features (0.5: 4 of the 8, drawn per tree).
    maxFeatures: p.maxFeatures,
    replacement: true,
    useSampleBagging: true,
    noOOB: true,
    treeOptions: { maxDepth: p.maxDepth, minNumSamples: p.minSplit },
  });
  rf.train(X, y);
  return { ...base, forest: compact(rf.toJSON()) };
}

/** A tree node as RandomForestClassifier.load reads it: a leaf's class shares, or a split. */
interface NodeJson {
  distribution?: unknown;
  splitColumn?: unknown;
  splitValue?: unknown;
  gain?: unknown;
  left?: unknown;
  right?: unknown;
}

/**
 * toJSON keeps ml-matrix objects in the leaves and copies the tree options into every node; the
 * JSON round trip makes it plain data and the pruning keeps only what load reads (a third of the
 * size). The test checks that the pruned forest votes exactly as the trained one.
 */
function compact(json: ReturnType<RandomForestClassifier['toJSON']>): unknown {
  const plain = JSON.parse(JSON.stringify(json)) as { name: string; baseModel: { estimators: { root: NodeJson }[] } & Record<string, unknown> };
  const prune = (node: NodeJson): NodeJson =>
    node.distribution !== undefined
      ? { distribution: node.distribution }
      : { splitColumn: node.splitColumn, splitValue: node.splitValue, gain: node.gain, left: prune(node.left as NodeJson), right: prune(node.right as NodeJson) };
  const estimators = plain.baseModel.estimators.map((e) => ({ ...e, root: prune(e.root) }));
  return { ...plain, baseModel: { ...plain.baseModel, estimators } };
}

export default defineBot({
  id: 'ml-forest',
  version: '1.0.0',
  description: 'Random forest (ml-random-forest) trained walk-forward on past candles to predict whether the close rises over the next candles.',
  family: 'ml',
  params,
  warmup: () => LOOKBACK + 1,
  model: {
    trainingWindow: (p) => p.trainingWindow,
    retrainEvery: (p) => p.retrainEvery,
    train: ({ candles, params: p }) => train(candles, p),
  },
  analyze({ candles, params: p, model }) {
    const n = candles.length;
    if (n < LOOKBACK + 1) return hold(`needs at least ${LOOKBACK + 1} candles, has ${n}`);
    const checked = checkedModel(model, p);
    if (typeof checked === 'string') return hold(checked);
    // With no move at all every return feature is 0: the forest would answer a question never asked.
    let moved = false;
    for (let k = n - 1 - LOOKBACK; k < n - 1 && !moved; k++) moved = candles.close[k] !== candles.close[n - 1];
    if (!moved) return hold(`close did not move over the last ${LOOKBACK} candles`);
    const row = featuresAt(candles, n - 1);
    if (row === null) return hold('features of the last candle are not finite');
    const up = probabilityUp(checked.forest, row);
    if (up === null) return hold('model is malformed: its trees did not give a 0/1 vote');
    const shown = `P(close ${p.horizon} candles on is higher) = ${up.toFixed(2)} (trained on ${checked.rows} rows, ${(checked.upRate * 100).toFixed(0)}% up)`;
    // Fully sure only when every tree agrees.
    const confidence = (edge: number) => clamp(0.2 + 0.8 * ((edge - p.margin) / Math.max(1e-9, 0.5 - p.margin)), 0.2, 1);
    if (up > 0.5 + p.margin) return { action: 'buy', confidence: confidence(up - 0.5), reason: `${shown} > ${fmt(0.5 + p.margin)}` };
    if (up < 0.5 - p.margin) return { action: 'sell', confidence: confidence(0.5 - up), reason: `${shown} < ${fmt(0.5 - p.margin)}` };
    return hold(`${shown}: within ${p.margin} of 0.5`);
  },
});

interface LoadedModel {
  forest: RandomForestClassifier;
  rows: number;
  upRate: number;
}

/**
 * Models checked and loaded, by model object, with the horizon they were checked against: the
 * backtest hands a bot the same model object for a whole training period, and checking and loading
 * it cost more than the forest's vote (about a twentieth of a default backtest). The bot thread gets a
 * copy per call: no hit there, and nothing kept once the copy is gone.
 */
const checkedModels = new WeakMap<object, { horizon: number; checked: LoadedModel | string }>();

function checkedModel(model: unknown, p: Params): LoadedModel | string {
  if (typeof model !== 'object' || model === null) return checkModel(model, p);
  const hit = checkedModels.get(model);
  if (hit !== undefined && hit.horizon === p.horizon) return hit.checked;
  const checked = checkModel(model, p);
  checkedModels.set(model, { horizon: p.horizon, checked });
  return checked;
}

/** The model, loaded, or why it cannot be used. */
function checkModel(model: unknown, p: Params): LoadedModel | string {
  if (model === undefined || model === null) return 'no trained model yet';
  if (typeof model !== 'object') return `model is malformed: a ${typeof model}, not an object`;
  const m = model as Partial<Record<keyof ForestModel, unknown>>;
  if (m.format !== FORMAT) return `model is malformed: format ${JSON.stringify(m.format)}, expected "${FORMAT}"`;
  if (!Array.isArray(m.features) || m.features.join(',') !== FEATURES.join(',')) return 'model is malformed: trained on other features';
  if (m.horizon !== p.horizon) return `model predicts ${String(m.horizon)} candles ahead, params say ${p.horizon}: waiting for a retrain`;
  if (typeof m.rows !== 'number' || typeof m.upRate !== 'number' || !Number.isFinite(m.upRate)) return 'model is malformed: no training summary';
  if (m.forest === null) return `model has no forest: ${typeof m.note === 'string' ? m.note.slice(0, 120) : 'training found nothing to learn'}`;
  const forest = m.forest as { name?: unknown; baseModel?: { estimators?: unknown; indexes?: unknown } } | undefined;
  const estimators = forest?.baseModel?.estimators;
  const indexes = forest?.baseModel?.indexes;
  if (typeof forest !== 'object' || forest.name !== 'RFClassifier' || !Array.isArray(estimators) || estimators.length === 0) {
    return 'model is malformed: not a random forest classifier';
  }
  const validIndex = (k: unknown) => Number.isInteger(k) && (k as number) >= 0 && (k as number) < FEATURES.length;
  if (!Array.isArray(indexes) || indexes.length !== estimators.length || !indexes.every((ix) => Array.isArray(ix) && ix.length > 0 && ix.every(validIndex))) {
    return 'model is malformed: feature indexes do not match its trees';
  }
  for (let t = 0; t < estimators.length; t++) {
    const tree = estimators[t] as { name?: unknown; options?: unknown; root?: unknown } | null;
    if (typeof tree !== 'object' || tree === null || tree.name !== 'DTClassifier' || typeof tree.options !== 'object' || !validNode(tree.root, (indexes[t] as unknown[]).length, 0)) {
      return `model is malformed: tree ${t} is not a decision tree over its features`;
    }
  }
  try {
    return { forest: RandomForestClassifier.load(forest as Parameters<typeof RandomForestClassifier.load>[0]), rows: m.rows, upRate: m.upRate };
  } catch (error) {
    return `model is malformed: ${error instanceof Error ? error.message.slice(0, 120) : 'did not load'}`;
  }
}

/** Far deeper than any tree this bot trains (maxDepth <= 6): a deeper one was not made here. */
const MAX_NODE_DEPTH = 32;

/** A leaf with its class shares, or a split on one of the tree's `width` columns with two valid children. */
function validNode(node: unknown, width: number, depth: number): boolean {
  if (depth > MAX_NODE_DEPTH || typeof node !== 'object' || node === null) return false;
  const n = node as NodeJson;
  if (n.distribution !== undefined) {
    const d = n.distribution;
    return Array.isArray(d) && d.length === 1 && Array.isArray(d[0]) && d[0].length > 0 && (d[0] as unknown[]).every((x) => typeof x === 'number' && Number.isFinite(x));
  }
  return (
    Number.isInteger(n.splitColumn) &&
    (n.splitColumn as number) >= 0 &&
    (n.splitColumn as number) < width &&
    typeof n.splitValue === 'number' &&
    Number.isFinite(n.splitValue) &&
    validNode(n.left, width, depth + 1) &&
    validNode(n.right, width, depth + 1)
  );
}

/**
 * Share of the trees voting "up". Not predictProbability: in ml-random-forest 2.1 it sums the
 * votes with a reduce that has no initial value, so the first tree's vote is dropped (0.500001 for 11 of 20).
 */
function probabilityUp(forest: RandomForestClassifier, row: number[]): number | null {
  let votes: number[];
  try {
    votes = forest.predictionValues([row]).getRow(0);
  } catch {
    return null;
  }
  let ups = 0;
  for (const v of votes) {
    if (v !== 0 && v !== 1) return null;
    ups += v;
  }
  return votes.length > 0 ? ups / votes.length : null;
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
