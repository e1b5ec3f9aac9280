import type { Candle } from '../core/candle.ts';
import { readCandleFile, type RejectedRow } from './candleCsv.ts';
import type { ReplayFile } from './replayFiles.ts';

export interface ReplayStep {
  symbol: string;
  timeframe: string;
  ts: number;
}

export interface ReplayTick {
  symbol: string;
  timeframe: string;
  candle: Candle;
  /** Open time of the previous candle of the same series in this replay (null for the first). */
  prevTs: number | null;
  /** The previous candle of the whole replay, across markets (null for the first). */
  prevStep: ReplayStep | null;
  /** The newest candle of each other market of the same timeframe handed over before this one. */
  asOf: Record<string, number>;
}

/** The merged candles of a set of files, in replay order, and the rows refused on the way. */
export interface MergedCandles {
  steps: Array<{ symbol: string; timeframe: string; candle: Candle; prevTs: number | null }>;
  rejected: Array<{ file: ReplayFile; row: RejectedRow }>;
}

/**
 * Reads and validates every file, keeps the last `lastCandles` of each (0 = all) within
 * [from, to], and merges them into one sequence ordered by candle time, then symbol, then
 * timeframe: the order in which a replay hands candles over and in which the pipeline and the
 * backtester both decide (so that the account evolves the same way in both).
 */
export function mergeCandleFiles(files: readonly ReplayFile[], options: { lastCandles: number; from?: number | undefined; to?: number | undefined }): MergedCandles {
  const steps: MergedCandles['steps'] = [];
  const rejected: MergedCandles['rejected'] = [];
  for (const file of files) {
    const { accepted, rejected: bad } = readCandleFile(file.path, file.timeframe);
    for (const row of bad) rejected.push({ file, row });
    const inRange = accepted.filter(({ candle }) => (options.from === undefined || candle.ts >= options.from) && (options.to === undefined || candle.ts <= options.to));
    const kept = options.lastCandles > 0 ? inRange.slice(-options.lastCandles) : inRange;
    let prevTs: number | null = null;
    for (const { candle } of kept) {
      steps.push({ symbol: file.symbol, timeframe: file.timeframe, candle, prevTs });
      prevTs = candle.ts;
    }
  }
  steps.sort((a, b) => a.candle.ts - b.candle.ts || a.symbol.localeCompare(b.symbol) || a.timeframe.localeCompare(b.timeframe));
  return { steps, rejected };
}

/** Where replayed candles go: the ticks queue in the pipeline. */
export interface ReplaySink {
  emit(tick: ReplayTick): Promise<void>;
  /** Candles handed over and not yet decided; the replay waits while it is at the limit. */
  inFlight(): Promise<number>;
  reject(file: ReplayFile, row: RejectedRow): Promise<void>;
}

export interface ReplayOptions {
  files: ReplayFile[];
  /** Only the last N accepted candles of each file (0 = all). */
  lastCandles: number;
  /** 0: as fast as the sink takes them; N: N times real time. */
  speed: number;
  maxInFlight: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface ReplayReport {
  files: number;
  emitted: number;
  rejected: Record<string, number>;
  firstTs: number | null;
  lastTs: number | null;
  aborted: boolean;
}

/**
 * Replays CSV candles in time order across all files (so that every market's clock moves
 * together, as it would live), each validated by the CSV reader; rejected rows are reported with
 * their reason and line and never reach the sink.
 */
export async function replay(options: ReplayOptions, sink: ReplaySink): Promise<ReplayReport> {
  const { steps: ticks, rejected: bad } = mergeCandleFiles(options.files, { lastCandles: options.lastCandles });
  const rejected: Record<string, number> = {};
  for (const { file, row } of bad) {
    rejected[row.reason] = (rejected[row.reason] ?? 0) + 1;
    await sink.reject(file, row);
  }

  const report: ReplayReport = {
    files: options.files.length,
    emitted: 0,
    rejected,
    firstTs: ticks[0]?.candle.ts ?? null,
    lastTs: ticks.at(-1)?.candle.ts ?? null,
    aborted: false,
  };
  const startWall = Date.now();
  const startTs = report.firstTs ?? 0;
  let sinceCheck = Infinity;
  let previous: ReplayStep | null = null;
  const latest = new Map<string, number>();
  for (const tick of ticks) {
    if (options.signal?.aborted) {
      report.aborted = true;
      break;
    }
    if (options.speed > 0) {
      const due = startWall + (tick.candle.ts - startTs) / options.speed;
      if (due > Date.now()) await sleep(due - Date.now(), options.signal);
    }
    // Checking the backlog costs a round trip; once per few candles keeps it bounded and cheap.
    if (sinceCheck >= 8) {
      while (!options.signal?.aborted && (await sink.inFlight()) >= options.maxInFlight) await sleep(10, options.signal);
      sinceCheck = 0;
    }
    await sink.emit({ ...tick, prevStep: previous, asOf: asOfFor(latest, tick) });
    latest.set(`${tick.timeframe} ${tick.symbol}`, tick.candle.ts);
    previous = { symbol: tick.symbol, timeframe: tick.timeframe, ts: tick.candle.ts };
    sinceCheck++;
    report.emitted++;
    options.onProgress?.(report.emitted, ticks.length);
  }
  return report;
}

/** The newest candle handed over so far of every other market of the tick's timeframe. */
function asOfFor(latest: ReadonlyMap<string, number>, tick: { symbol: string; timeframe: string }): Record<string, number> {
  const asOf: Record<string, number> = {};
  const prefix = `${tick.timeframe} `;
  for (const [series, ts] of latest) if (series.startsWith(prefix) && series !== prefix + tick.symbol) asOf[series.slice(prefix.length)] = ts;
  return asOf;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
