import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BacktestEngine, type BacktestRecord, type BacktestSetup } from '../backtest/engine.ts';
import type { Config } from '../config/schema.ts';
import type { BotDefinition } from '../core/bot.ts';
import type { Candle } from '../core/candle.ts';
import { loadMarketRules } from '../core/marketRulesSchema.ts';
import { buildPerformanceReport, type PerformanceReport } from '../core/performance.ts';
import { mergeCandleFiles } from '../feed/replay.ts';
import type { ReplayFile } from '../feed/replayFiles.ts';
import { decideSettingsOf, paperVenueOptionsOf, policyFor } from './policies.ts';
import { StartupError } from './startupError.ts';
import { loadBots } from './loadBots.ts';

export interface BacktestOptions {
  config: Config;
  files: ReplayFile[];
  /** Only candles in [from, to] (ms); with `lastCandles`, the last N of each file within that range (0 = all). */
  from?: number | undefined;
  to?: number | undefined;
  lastCandles?: number | undefined;
  cwd: string;
  onProgress?: ((done: number, total: number) => void) | undefined;
  onRead?: BacktestSetup['onRead'];
  /** Keep every decision in `record.decisions` (see BacktestSetup.keepDecisionLog). */
  keepDecisionLog?: boolean | undefined;
  /** The clock of the report's generatedAt (the run itself follows candle time). */
  now?: () => number;
}

export interface BacktestResult {
  report: PerformanceReport;
  record: BacktestRecord;
  /** Each market's candles, for the report's price charts. */
  prices: Record<string, Candle[]>;
  /** What ran: files, span, candles, rejected rows, bot evaluations, time taken. */
  run: {
    files: string[];
    from: number | null;
    to: number | null;
    candles: number;
    rejected: Array<{ file: string; line: number; reason: string }>;
    decisions: number;
    orders: number;
    fills: number;
    evaluations: number;
    durationMs: number;
    botFailures: Record<string, { count: number; last: string }>;
    quarantined: string[];
  };
}

/**
 * The backtest's composition root: the config's bots, market rules, aggregation policy and risk
 * settings, exactly as the pipeline's workers build them, around the in-process engine.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const { config, files, cwd } = options;
  if (config.exchange.mode !== 'paper') throw new StartupError(`a backtest fills on the paper venue: set exchange.mode to paper (it is ${config.exchange.mode})`);
  if (config.execution.algo.kind !== 'none') {
    throw new StartupError(`the backtester does not simulate execution algorithms (execution.algo.kind is ${config.execution.algo.kind}): set it to none to backtest`);
  }
  if (files.length === 0) throw new StartupError('no candle files to backtest (give --data files or folders, or replay.files in the config)');
  const markets = loadMarketRules(JSON.parse(readFileSync(resolve(cwd, config.paper.marketsFile), 'utf8')));
  const series = [...new Map(files.map((f) => [`${f.symbol} ${f.timeframe}`, { symbol: f.symbol, timeframe: f.timeframe }])).values()];
  const bots = await loadBots({ config, cwd, series, markets });
  if (bots.problems.length > 0) throw new StartupError('bot instances are misconfigured', bots.problems);
  const definitions: Record<string, BotDefinition> = Object.fromEntries(bots.report.loaded.map((b) => [b.id, b.definition]));

  const merged = mergeCandleFiles(files, { lastCandles: options.lastCandles ?? 0, from: options.from, to: options.to });
  const engine = new BacktestEngine({
    account: config.exchange.id,
    balances: config.paper.balances,
    markets,
    instances: bots.instances,
    bots: definitions,
    policyFor: (symbol) => policyFor(config, symbol),
    settingsFor: (timeframe) => decideSettingsOf(config, timeframe, config.exchange.id, markets),
    trackRecord: config.coordinator.trackRecord,
    riskWindows: config.risk,
    windowSize: config.bots.windowSize,
    quarantineAfter: config.bots.quarantineAfter,
    venue: paperVenueOptionsOf(config),
    onRead: options.onRead,
    keepDecisionLog: options.keepDecisionLog,
  });
  const started = performance.now();
  const record = await engine.run(merged.steps, options.onProgress);
  const durationMs = performance.now() - started;

  const report = buildPerformanceReport({
    generatedAt: (options.now ?? Date.now)(),
    fills: record.book.fills,
    contexts: record.contexts,
    marks: record.marks,
    equity: record.equity,
    counters: record.counters,
    instanceIds: bots.instances.filter((i) => i.enabled).map((i) => i.id),
    periodMs: record.periodMs,
  });
  const prices: Record<string, Candle[]> = {};
  for (const step of merged.steps) (prices[step.symbol] ??= []).push(step.candle);
  return {
    report,
    record,
    prices,
    run: {
      files: files.map((f) => f.path),
      from: merged.steps[0]?.candle.ts ?? null,
      to: merged.steps.at(-1)?.candle.ts ?? null,
      candles: merged.steps.length,
      rejected: merged.rejected.map(({ file, row }) => ({ file: file.path, line: row.line, reason: row.reason })),
      decisions: record.decisionCount,
      orders: record.book.allOrders().length,
      fills: record.book.fills.length,
      evaluations: record.evaluations,
      durationMs: Math.round(durationMs),
      botFailures: Object.fromEntries(record.botFailures),
      quarantined: record.quarantined,
    },
  };
}
