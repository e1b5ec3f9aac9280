import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isTimeframe } from '../core/timeframe.ts';

export interface ReplayFile {
  /** Absolute path. */
  path: string;
  /** Unified symbol, e.g. "ADA/BTC". */
  symbol: string;
  timeframe: string;
}

const FILE_NAME = /^([A-Z0-9]{1,20})_([A-Z0-9]{1,20})-([1-9][0-9]*[mhdw])\.csv$/;
const EXPECTED = 'BASE_QUOTE-TIMEFRAME.csv (e.g. ADA_BTC-5m.csv)';

/** Reads symbol and timeframe from a candle file's name; throws naming the file if it does not fit. */
export function parseReplayFileName(path: string): Omit<ReplayFile, 'path'> {
  const match = FILE_NAME.exec(basename(path));
  if (!match) throw new Error(`${path}: file name does not match ${EXPECTED}`);
  return { symbol: `${match[1]}/${match[2]}`, timeframe: match[3]! };
}

/**
 * Expands replay entries (CSV files, or folders whose *.csv files are taken, sorted by name)
 * into files with their market and timeframe, in entry order.
 */
export function resolveReplayFiles(entries: string[], opts: { cwd: string; timeframes?: string[] }): ReplayFile[] {
  for (const tf of opts.timeframes ?? []) {
    if (!isTimeframe(tf)) throw new Error(`invalid timeframe filter "${tf}": expected e.g. 1m, 5m, 1h`);
  }
  const wanted = opts.timeframes ? new Set(opts.timeframes) : undefined;
  const files: ReplayFile[] = [];
  const seenPaths = new Set<string>();
  const seenSeries = new Map<string, string>();

  const add = (path: string): void => {
    const { symbol, timeframe } = parseReplayFileName(path);
    if (wanted && !wanted.has(timeframe)) return;
    if (seenPaths.has(path)) return;
    // Two files of one series would interleave into one stream and fail as out of order.
    const series = `${symbol} ${timeframe}`;
    const other = seenSeries.get(series);
    if (other !== undefined) throw new Error(`${path}: ${symbol} ${timeframe} is already replayed from ${other}`);
    seenPaths.add(path);
    seenSeries.set(series, path);
    files.push({ path, symbol, timeframe });
  };

  for (const entry of entries) {
    const path = resolve(opts.cwd, entry);
    let stats;
    try {
      stats = statSync(path);
    } catch {
      throw new Error(`replay entry "${entry}" not found (looked for ${path})`);
    }
    if (stats.isDirectory()) {
      const names = readdirSync(path, { withFileTypes: true })
        .filter((d) => d.isFile() && d.name.endsWith('.csv'))
        .map((d) => d.name)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const name of names) add(join(path, name));
    } else {
      add(path);
    }
  }
  return files;
}
