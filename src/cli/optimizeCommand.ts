import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { OBJECTIVES, type Objective, type OptimizeReport, type ParameterGrid, type ParameterValue } from '../backtest/optimize.ts';
import { csvDocument } from '../backtest/csv.ts';
import { resolveReplayFiles } from '../feed/replayFiles.ts';
import { runSweep } from '../main/optimize.ts';
import { StartupError } from '../main/startupError.ts';
import { startWorkers } from '../main/workers.ts';
import { QUEUE } from '../../queues/names.ts';
import { EXIT, Lifecycle, connect, failStartup, loadConfigOrExit, loggerFor, type GlobalOptions } from './bootstrap.ts';
import { parseTimeBound } from './backtestCommand.ts';

/** "ema-fast.fast=5,9,13" → ["ema-fast.fast", [5, 9, 13]]; numbers and booleans are typed, the rest are strings. */
export function parseParameter(spec: string): [string, ParameterValue[]] {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw new StartupError(`--param "${spec}": expected <path>=<value>[,<value>...], e.g. ema-fast.fast=5,9,13 or risk.kellyFraction=0.25,0.5`);
  const values = spec
    .slice(eq + 1)
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
    .map((v): ParameterValue => (v === 'true' ? true : v === 'false' ? false : /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v) ? Number(v) : v));
  return [spec.slice(0, eq).trim(), [...new Set(values)]];
}

interface OptimizeFlags {
  data?: string[];
  param: string[];
  objective: string;
  folds: string;
  from?: string;
  to?: string;
  currency?: string;
  out: string;
  json?: boolean;
  local: boolean;
  timeout: string;
}

export function addOptimizeCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('optimize')
    .description('parameter sweep as jobs of the optimize queue (every worker serving it takes part): ranks the combinations by an objective and reports walk-forward, out-of-sample results')
    .option('--data <paths...>', 'candle CSV files or folders (default: replay.files of the config)')
    .requiredOption('--param <path=values...>', 'a parameter and the values to try, e.g. ema-fast.fast=5,9,13 or risk.kellyFraction=0.25,0.5 (repeatable)')
    .option('--objective <metric>', `what to rank by: ${OBJECTIVES.join(', ')}`, 'sharpe')
    .option('--folds <n>', 'walk-forward folds: the span is cut into n + 1 parts; each fold picks on one part and tests on the next', '3')
    .option('--from <time>', 'first candle time: ISO date/datetime or Unix ms')
    .option('--to <time>', 'last candle time: ISO date/datetime or Unix ms')
    .option('--currency <code>', "the account currency whose metrics are ranked (default: the first market's quote)")
    .requiredOption('--out <folder>', 'folder for optimize.json and ranking.csv')
    .option('--json', 'no progress bar; print the report as JSON')
    .option('--no-local', 'do not work on the sweep in this process (leave it to the running workers)')
    .option('--timeout <seconds>', 'give up waiting after this long', '3600')
    .action(async (opts: OptimizeFlags) => {
      const loaded = loadConfigOrExit(globals());
      const log = loggerFor(loaded, 'quorum-optimize');
      const life = new Lifecycle(log);
      try {
        if (!(OBJECTIVES as readonly string[]).includes(opts.objective)) throw new StartupError(`--objective "${opts.objective}" is not one of ${OBJECTIVES.join(', ')}`);
        const folds = Number(opts.folds);
        if (!Number.isInteger(folds) || folds < 1 || folds > 20) throw new StartupError(`--folds "${opts.folds}" must be a whole number from 1 to 20`);
        const timeout = Number(opts.timeout);
        if (!(timeout > 0)) throw new StartupError(`--timeout "${opts.timeout}" must be a positive number of seconds`);
        const grid: ParameterGrid = {};
        for (const spec of opts.param) {
          const [path, values] = parseParameter(spec);
          if (path in grid) throw new StartupError(`--param ${path} is given twice`);
          grid[path] = values;
        }
        let files;
        try {
          files = resolveReplayFiles(opts.data ?? loaded.config.replay.files, { cwd: process.cwd(), timeframes: loaded.config.replay.timeframes });
        } catch (error) {
          throw new StartupError((error as Error).message);
        }
        const { ctx } = await connect(loaded, log, life);
        if (opts.local) {
          const workers = await startWorkers(ctx, [QUEUE.optimize]);
          life.add('optimize workers', () => workers.close());
        }
        const bar: SingleBar | undefined = opts.json || !process.stderr.isTTY ? undefined : new (await import('cli-progress')).SingleBar({ format: 'optimize [{bar}] {value}/{total} backtests | {eta_formatted} left', hideCursor: true, stream: process.stderr });
        let started = false;
        const { sweepId, report } = await runSweep(ctx, {
          grid,
          objective: opts.objective as Objective,
          files,
          from: opts.from === undefined ? undefined : parseTimeBound(opts.from, '--from'),
          to: opts.to === undefined ? undefined : parseTimeBound(opts.to, '--to'),
          folds,
          currency: opts.currency,
          timeoutMs: timeout * 1000,
          signal: life.abort.signal,
          onProgress: (done, total) => {
            if (!bar) return;
            if (!started) bar.start(total, 0);
            started = true;
            bar.update(done);
          },
        });
        bar?.stop();
        const out = resolve(process.cwd(), opts.out);
        await mkdir(out, { recursive: true });
        await writeFile(join(out, 'optimize.json'), `${JSON.stringify({ sweepId, ...report }, null, 2)}\n`);
        await writeFile(join(out, 'ranking.csv'), rankingCsv(report));
        process.stdout.write(opts.json ? `${JSON.stringify({ sweepId, out, ...report }, null, 2)}\n` : formatSweep(report, out));
        await life.shutdown();
        process.exit(EXIT.ok);
      } catch (error) {
        await failStartup(error, life);
      }
    });
}

function rankingCsv(report: OptimizeReport): string {
  const paths = Object.keys(report.grid);
  return csvDocument(
    ['rank', 'combo', ...paths, `objective_${report.objective}`, 'total_return', 'sharpe', 'max_drawdown', 'trades'],
    report.ranking.map((r) => [r.rank, r.combo, ...paths.map((p) => (typeof r.params[p] === 'boolean' ? String(r.params[p]) : (r.params[p] as string | number))), r.objective, r.totalReturn, r.sharpe, r.maxDrawdown, r.trades]),
  );
}

const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));

function formatSweep(report: OptimizeReport, out: string): string {
  const lines = [`optimize: ${report.combinations} combinations ranked by ${report.objective} (${report.currency})`];
  for (const r of report.ranking.slice(0, 10)) lines.push(`  #${r.rank} ${JSON.stringify(r.params)}: ${report.objective} ${fmt(r.objective)}, return ${fmt(r.totalReturn)}, max drawdown ${fmt(r.maxDrawdown)}, ${r.trades ?? 0} trades`);
  lines.push('walk-forward (chosen in sample, tested on the next part, unseen):');
  for (const f of report.walkForward.folds) {
    lines.push(`  fold ${f.fold}: ${JSON.stringify(f.params)} in sample ${fmt(f.inSampleObjective)} → out of sample ${fmt(f.outOfSampleObjective)} (${f.outOfSampleRank === null ? 'unranked' : `rank ${f.outOfSampleRank} of ${report.combinations}`})`);
  }
  const wf = report.walkForward;
  lines.push(`  mean in sample ${fmt(wf.inSampleMean)}, out of sample ${fmt(wf.outOfSampleMean)}, efficiency ${fmt(wf.efficiency)}${wf.efficiency !== null && wf.efficiency < 0.5 ? ' (overfitted: the in-sample choice does not carry over)' : ''}`);
  if (report.failed.length > 0) lines.push(`  ${report.failed.length} runs failed (see optimize.json)`);
  lines.push(`report: ${out}/optimize.json`);
  return `${lines.join('\n')}\n`;
}
