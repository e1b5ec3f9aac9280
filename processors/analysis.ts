import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { AnalysisMessage, type AnalysisResult } from '../src/contracts/messages.ts';
import { hold, type Signal } from '../src/core/signal.ts';
import type { Logger } from '../src/infra/logger.ts';
import { BotCrashedError, BotFailedError, BotOutputError, BotRunError, BotTimeoutError } from '../src/registry/errors.ts';
import type { CandleStore } from '../src/store/candleStore.ts';
import type { BotHealthStore, StatsStore } from '../src/store/statsStore.ts';
import { QUEUE } from '../queues/names.ts';
import { parseJob } from './common.ts';

/** What the analysis stage needs of the thread pool that runs bot code. */
export interface BotExecutor {
  run(request: {
    instanceId: string;
    botId: string;
    symbol: string;
    timeframe: string;
    params: Record<string, unknown>;
    candles: import('../src/core/candle.ts').CandleWindow;
  }): Promise<Signal>;
}

export interface AnalysisDeps {
  candles: CandleStore;
  stats: StatsStore;
  health: BotHealthStore;
  runner: BotExecutor;
  /** Version of each discovered bot, recorded with its signals. */
  botVersions: Record<string, string>;
  log: Logger;
  now(): number;
}

/**
 * Runs one bot instance on one candle: reads the window (candles up to the decision candle only),
 * runs the bot in the isolated thread pool within its time budget, and returns a checked signal.
 * A bot's own failure fails this job only; the coordinator decides with the others.
 */
export function analysisProcessor(deps: AnalysisDeps) {
  return async (job: Job): Promise<AnalysisResult> => {
    const m = await parseJob(QUEUE.analysis, AnalysisMessage, job, deps.stats);
    const started = performance.now();
    const botVersion = deps.botVersions[m.botId];
    if (botVersion === undefined) throw new UnrecoverableError(`bot "${m.botId}" is not loaded in this worker (see quorum bots)`);

    const candles = await deps.candles.window(m.symbol, m.timeframe, m.candleTs, m.windowSize);
    if (candles.length === 0 || candles.ts[candles.length - 1] !== m.candleTs) {
      throw new UnrecoverableError(`decision candle ${m.candleTs} of ${m.symbol} ${m.timeframe} is not in the store (trimmed or never stored)`);
    }
    const result = (signal: Signal, warmingUp: boolean): AnalysisResult => ({
      instanceId: m.instanceId,
      botId: m.botId,
      botVersion,
      candleTs: m.candleTs,
      signal,
      warmingUp,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
    if (candles.length < m.warmup) return result(hold(`warming up: ${candles.length} of ${m.warmup} candles`), true);

    try {
      const signal = await deps.runner.run({ instanceId: m.instanceId, botId: m.botId, symbol: m.symbol, timeframe: m.timeframe, params: m.params, candles });
      await deps.health.success(m.instanceId, signal.action);
      return result(signal, false);
    } catch (error) {
      if (!(error instanceof BotRunError)) throw error;
      const kind = error instanceof BotTimeoutError ? 'timedOut' : error instanceof BotOutputError ? 'badOutput' : 'failed';
      await deps.health.failure(m.instanceId, kind, error.message, deps.now());
      deps.log.warn({ instanceId: m.instanceId, botId: m.botId, candleTs: m.candleTs, err: error.message }, 'bot failed its analysis');
      if (error instanceof BotCrashedError) throw error; // the thread died under it: worth one more try
      if (error instanceof BotFailedError || error instanceof BotTimeoutError || error instanceof BotOutputError) {
        throw new UnrecoverableError(`${m.instanceId}: ${error.message}`);
      }
      throw error;
    }
  };
}
