/**
 * Backtest throughput: bot-candle evaluations per second of the backtester (the whole decision
 * sequence: bots, coordinator, risk, paper fills), beside a plain typed-array loop computing the
 * same indicator (fast and slow EMA over the same windows) for the same instances and candles,
 * measured in the same run. Their ratio is the framework's overhead.
 *
 * Measured for a crowd of 200 instances on one market, the scale the pipeline's figures use, and
 * for 20: the risk engine's work per candle (VaR, a 144,000-draw Monte Carlo on every sized entry)
 * is shared by every instance, so the fewer the instances the more of it each evaluation carries.
 */
import { loadConfig } from '../src/config/load.ts';
import { readCandleFile } from '../src/feed/candleCsv.ts';
import { resolveReplayFiles } from '../src/feed/replayFiles.ts';
import { runBacktest } from '../src/main/backtest.ts';

const FILE = 'data/ohlcv/XMR_BTC-5m.csv';
/** EMA crossover instances with different periods, as a sweep or a crowd of variants would have. */
const TWENTY: Array<[number, number]> = [
  [5, 13], [5, 21], [8, 21], [9, 21], [12, 26], [5, 34], [8, 34], [13, 34], [9, 30], [10, 30],
  [6, 18], [7, 20], [4, 16], [11, 22], [3, 12], [14, 28], [6, 24], [7, 28], [8, 32], [10, 25],
];
/** 200 distinct (fast, slow) pairs: fast 3 to 22, slow 2 to 20 candles slower. */
const TWO_HUNDRED: Array<[number, number]> = Array.from({ length: 200 }, (_, k) => [3 + Math.floor(k / 10), 3 + Math.floor(k / 10) + 2 * ((k % 10) + 1)]);
/** Measured pairs per crowd (a backtest run, then the plain loop): the figure is their median ratio. */
const PAIRS = 5;

/** The EMA the bot computes (trading-signals: seeded with the first price, k = 2 / (n + 1)). */
function ema(close: Float64Array, from: number, to: number, period: number): { last: number; prev: number } {
  const k = 2 / (period + 1);
  let value = close[from]!;
  let prev = value;
  for (let i = from + 1; i <= to; i++) {
    prev = value;
    value = value + k * (close[i]! - value);
  }
  return { last: value, prev };
}

function plainLoop(close: Float64Array, periods: ReadonlyArray<[number, number]>): { evaluations: number; ms: number; signals: number } {
  const started = performance.now();
  let evaluations = 0;
  let signals = 0;
  for (let t = 0; t < close.length; t++) {
    for (const [fast, slow] of periods) {
      const window = slow * 3;
      if (t + 1 < window) continue;
      const from = t + 1 - window;
      const f = ema(close, from, t, fast);
      const s = ema(close, from, t, slow);
      const gap = (f.last - s.last) / s.last;
      if ((f.prev <= s.prev && f.last > s.last) || gap > 0.001 || (f.prev >= s.prev && f.last < s.last) || gap < -0.001) signals++;
      evaluations++;
    }
  }
  return { evaluations, ms: performance.now() - started, signals };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function crowdThroughput(root: string, periods: ReadonlyArray<[number, number]>) {
  const instances = periods.map(([fast, slow]) => ({ id: `ema-${fast}-${slow}`, bot: 'ema-crossover', markets: ['*'], params: { fast, slow } }));
  const { config } = loadConfig({ file: undefined, env: {}, cwd: root, overrides: { 'log.level': 'silent', 'bots.instances': instances, 'coordinator.minVoters': 1 } });
  const files = resolveReplayFiles([FILE], { cwd: root });
  const close = Float64Array.from(readCandleFile(files[0]!.path, files[0]!.timeframe).accepted.map((r) => r.candle.close));
  // One whole run of each to warm up (JIT, bot compilation). Then pairs, each a backtest run and
  // the plain loop right after it: this machine's speed drifts by a third from one second to the
  // next (shared cores), and a ratio taken within a pair cancels most of that drift.
  await runBacktest({ config, files, cwd: root });
  plainLoop(close, periods);
  const pairs: Array<{ backtestMs: number; plainMs: number; overhead: number }> = [];
  let evaluations = 0;
  let plainEvaluations = 0;
  let candles = 0;
  for (let k = 0; k < PAIRS; k++) {
    const { run } = await runBacktest({ config, files, cwd: root });
    // The loop takes a tenth of the backtest's time or less: the fastest of three, so that a
    // preemption in it does not count as framework speed.
    const plain = [plainLoop(close, periods), plainLoop(close, periods), plainLoop(close, periods)].sort((a, b) => a.ms - b.ms)[0]!;
    ({ evaluations, candles } = run);
    plainEvaluations = plain.evaluations;
    pairs.push({ backtestMs: run.durationMs, plainMs: Math.round(plain.ms * 10) / 10, overhead: run.durationMs / evaluations / (plain.ms / plain.evaluations) });
  }
  const backtestMs = median(pairs.map((p) => p.backtestMs));
  const plainMs = median(pairs.map((p) => p.plainMs));
  return {
    instances: instances.length,
    candles,
    backtestEvaluations: evaluations,
    backtestMs,
    backtestEvalsPerS: Math.round(evaluations / (backtestMs / 1000)),
    plainLoopEvaluations: plainEvaluations,
    plainLoopMs: plainMs,
    plainLoopEvalsPerS: Math.round(plainEvaluations / (plainMs / 1000)),
    /** The median of the pairs' ratios (backtest time per evaluation over the loop's). */
    overhead: Math.round(median(pairs.map((p) => p.overhead)) * 100) / 100,
    pairs: pairs.map((p) => ({ ...p, overhead: Math.round(p.overhead * 100) / 100 })),
  };
}

/** The headline figures are the 200-instance crowd's; `twentyInstances` is the small crowd's. */
export async function backtestThroughput(root: string) {
  const crowd = await crowdThroughput(root, TWO_HUNDRED);
  const twenty = await crowdThroughput(root, TWENTY);
  return {
    file: FILE,
    ...crowd,
    targetOverhead: 4,
    meetsTarget: crowd.overhead <= 4,
    twentyInstances: { ...twenty, meetsTarget: twenty.overhead <= 4 },
  };
}
