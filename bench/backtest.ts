/**
 * Backtest throughput: bot-candle evaluations per second of the backtester (the whole decision
 * sequence: bots, coordinator, risk, paper fills), beside a plain typed-array loop computing the
 * same indicator (fast and slow EMA over the same windows) for the same instances and candles,
 * measured in the same run. Their ratio is the framework's overhead.
 */
import { loadConfig } from '../src/config/load.ts';
import { readCandleFile } from '../src/feed/candleCsv.ts';
import { resolveReplayFiles } from '../src/feed/replayFiles.ts';
import { runBacktest } from '../src/main/backtest.ts';

const FILE = 'data/ohlcv/XMR_BTC-5m.csv';
/** EMA crossover instances with different periods, as a sweep or a crowd of variants would have. */
const PERIODS: Array<[number, number]> = [
  [5, 13], [5, 21], [8, 21], [9, 21], [12, 26], [5, 34], [8, 34], [13, 34], [9, 30], [10, 30],
  [6, 18], [7, 20], [4, 16], [11, 22], [3, 12], [14, 28], [6, 24], [7, 28], [8, 32], [10, 25],
];

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

function plainLoop(close: Float64Array): { evaluations: number; ms: number; signals: number } {
  const started = performance.now();
  let evaluations = 0;
  let signals = 0;
  for (let t = 0; t < close.length; t++) {
    for (const [fast, slow] of PERIODS) {
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

export async function backtestThroughput(root: string) {
  const instances = PERIODS.map(([fast, slow]) => ({ id: `ema-${fast}-${slow}`, bot: 'ema-crossover', markets: ['*'], params: { fast, slow } }));
  const { config } = loadConfig({ file: undefined, env: {}, cwd: root, overrides: { 'log.level': 'silent', 'bots.instances': instances, 'coordinator.minVoters': 1 } });
  const files = resolveReplayFiles([FILE], { cwd: root });
  // Warm both up once (JIT, bot compilation), then measure.
  await runBacktest({ config, files, lastCandles: 500, cwd: root });
  const backtest = await runBacktest({ config, files, cwd: root });
  const close = Float64Array.from(readCandleFile(files[0]!.path, files[0]!.timeframe).accepted.map((r) => r.candle.close));
  plainLoop(close.subarray(0, 500));
  // The loop takes a few tens of ms: the median of several runs, so that one preemption on a
  // shared machine does not move the baseline by an order of magnitude.
  const runs = Array.from({ length: 7 }, () => plainLoop(close)).sort((a, b) => a.ms - b.ms);
  const plain = runs[3]!;
  const backtestPerS = backtest.run.evaluations / (backtest.run.durationMs / 1000);
  const plainPerS = plain.evaluations / (plain.ms / 1000);
  return {
    file: FILE,
    candles: backtest.run.candles,
    instances: instances.length,
    backtestEvaluations: backtest.run.evaluations,
    backtestMs: backtest.run.durationMs,
    backtestEvalsPerS: Math.round(backtestPerS),
    plainLoopEvaluations: plain.evaluations,
    plainLoopMs: Math.round(plain.ms),
    plainLoopEvalsPerS: Math.round(plainPerS),
    overhead: Math.round((plainPerS / backtestPerS) * 100) / 100,
    targetOverhead: 4,
    meetsTarget: plainPerS / backtestPerS <= 4,
  };
}
