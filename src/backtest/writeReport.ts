import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Candle } from '../core/candle.ts';
import type { PerformanceReport } from '../core/performance.ts';
import { maskSecretValues } from './maskSecrets.ts';
import { equityCsv, tradesCsv } from './reportCsv.ts';
import { renderReportHtml } from './reportHtml.ts';

export interface ReportFilesInput {
  title: string;
  report: PerformanceReport;
  /** The configuration of the run (secret-looking values are masked again before writing). */
  config: unknown;
  prices: Readonly<Record<string, readonly Candle[]>>;
  /** What ran, besides the config: data files, time range, candles, counts (merged into report.json's meta). */
  run?: Record<string, unknown> | undefined;
}

export const REPORT_FILES = ['report.json', 'trades.csv', 'equity.csv', 'report.html'] as const;

/** The content of report.json: what ran (meta, config) and everything it produced (report). */
export interface ReportJson {
  meta: { title: string; generatedAt: string; files: readonly string[]; run?: Record<string, unknown> | undefined };
  config: unknown;
  report: PerformanceReport;
}

/**
 * Writes the backtest report folder (created if missing; files of the same names replaced):
 * report.json, trades.csv, equity.csv and a self-contained report.html. Everything is rendered
 * before the first write, so a rendering error leaves no half-written folder behind.
 */
export async function writeReport(folder: string, input: ReportFilesInput): Promise<{ folder: string; files: string[] }> {
  const config = maskSecretValues(input.config);
  const json: ReportJson = {
    meta: { title: input.title, generatedAt: new Date(input.report.generatedAt).toISOString(), files: REPORT_FILES, ...(input.run ? { run: input.run } : {}) },
    config,
    report: input.report,
  };
  const contents: Record<(typeof REPORT_FILES)[number], string> = {
    'report.json': `${JSON.stringify(json, null, 2)}\n`,
    'trades.csv': tradesCsv(input.report.trades),
    'equity.csv': equityCsv(input.report.equity),
    'report.html': renderReportHtml({ title: input.title, report: input.report, config, prices: input.prices }),
  };
  await mkdir(folder, { recursive: true });
  const files: string[] = [];
  for (const name of REPORT_FILES) {
    const path = join(folder, name);
    await writeFile(path, contents[name], 'utf8');
    files.push(path);
  }
  return { folder, files };
}
