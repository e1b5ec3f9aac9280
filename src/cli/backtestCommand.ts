import { resolve } from 'node:path';
import type { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { maskSecrets } from '../config/load.ts';
import { writeReport } from '../backtest/writeReport.ts';
import { resolveReplayFiles } from '../feed/replayFiles.ts';
import { runBacktest } from '../main/backtest.ts';
import { StartupError } from '../main/startupError.ts';
import { EXIT, failStartup, loadConfigOrExit, type GlobalOptions } from './bootstrap.ts';

/** A time bound: Unix ms, or an ISO date/datetime (UTC unless it says otherwise). */
export function parseTimeBound(value: string, flag: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(ms)) throw new StartupError(`${flag} "${value}" is not a time: give Unix ms or an ISO date such as 2018-01-28 or 2018-01-28T12:00:00Z`);
  return ms;
}

interface BacktestFlags {
  data?: string[];
  from?: string;
  to?: string;
  last?: string;
  out: string;
  json?: boolean;
}

export function addBacktestCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('backtest')
    .description('run the bots, coordinator, risk engine and paper fill model in-process over candle files, with a simulated clock; writes report.json, trades.csv, equity.csv and report.html')
    .option('--data <paths...>', 'candle CSV files or folders (default: replay.files of the config)')
    .option('--from <time>', 'first candle time: ISO date/datetime or Unix ms')
    .option('--to <time>', 'last candle time: ISO date/datetime or Unix ms')
    .option('--last <n>', 'only the last N candles of each file (within --from/--to); default: all')
    .requiredOption('--out <folder>', 'folder for the report files')
    .option('--json', 'no progress bar; print the summary as JSON')
    .action(async (opts: BacktestFlags) => {
      const loaded = loadConfigOrExit(globals());
      const { config } = loaded;
      try {
        const from = opts.from === undefined ? undefined : parseTimeBound(opts.from, '--from');
        const to = opts.to === undefined ? undefined : parseTimeBound(opts.to, '--to');
        if (from !== undefined && to !== undefined && from > to) throw new StartupError(`--from (${opts.from}) is after --to (${opts.to})`);
        const last = opts.last === undefined ? 0 : Number(opts.last);
        if (!Number.isInteger(last) || last < 0) throw new StartupError(`--last "${opts.last}" must be a whole number of candles (0 = all)`);
        let files;
        try {
          files = resolveReplayFiles(opts.data ?? config.replay.files, { cwd: process.cwd(), timeframes: config.replay.timeframes });
        } catch (error) {
          throw new StartupError((error as Error).message);
        }
        const bar: SingleBar | undefined = opts.json || !process.stderr.isTTY ? undefined : new (await import('cli-progress')).SingleBar({ format: 'backtest [{bar}] {percentage}% | {value}/{total} candles | {eta_formatted} left', hideCursor: true, stream: process.stderr });
        let started = false;
        const result = await runBacktest({
          config,
          files,
          from,
          to,
          lastCandles: last,
          cwd: process.cwd(),
          onProgress: (done, total) => {
            if (!bar) return;
            if (!started) bar.start(total, 0);
            started = true;
            // Redrawing costs more than a candle: a few hundred updates in all.
            if (done === total || done % Math.max(1, Math.floor(total / 300)) === 0) bar.update(done);
          },
        });
        bar?.stop();
        const out = resolve(process.cwd(), opts.out);
        const title = `Backtest of ${[...new Set(files.map((f) => f.symbol))].join(', ')}`;
        const written = await writeReport(out, { title, report: result.report, config: maskSecrets(config), prices: result.prices, run: result.run });
        const summary = { out, files: written.files, run: { ...result.run, rejected: result.run.rejected.length }, metrics: result.report.metrics };
        if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else process.stdout.write(formatBacktestSummary(summary));
        process.exit(EXIT.ok);
      } catch (error) {
        await failStartup(error, undefined);
      }
    });
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`;
}

function num(x: number | null, digits = 2): string {
  return x === null ? 'n/a' : x.toFixed(digits);
}

function formatBacktestSummary(s: { out: string; run: { candles: number; decisions: number; orders: number; fills: number; evaluations: number; durationMs: number; rejected: number }; metrics: Array<import('../core/performance.ts').PerformanceMetrics> }): string {
  const lines = [`backtest: ${s.run.candles} candles, ${s.run.decisions} decisions, ${s.run.orders} orders, ${s.run.fills} fills, ${s.run.evaluations} bot evaluations in ${s.run.durationMs} ms${s.run.rejected ? `; ${s.run.rejected} rows rejected (see report.json)` : ''}`];
  for (const m of s.metrics) {
    lines.push(
      `  ${m.currency}: return ${pct(m.totalReturn)} (annualised ${pct(m.annualizedReturn)}), Sharpe ${num(m.sharpe)}, Sortino ${num(m.sortino)}, Calmar ${num(m.calmar)}, max drawdown ${pct(m.maxDrawdown.depth)}`,
      `       ${m.trades} trades (${m.closedTrades} closed), win rate ${pct(m.winRate)}, profit factor ${num(m.profitFactor)}, expectancy ${m.expectancy ?? 'n/a'}, fees ${m.feesPaid}, exposure ${pct(m.exposureTime)}`,
    );
  }
  lines.push(`report: ${s.out}/report.html`);
  return `${lines.join('\n')}\n`;
}
