import type { Job } from 'bullmq';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { AnalysisMessage, type AnalysisResult } from '../src/contracts/messages.ts';
import { hold, type Signal } from '../src/core/signal.ts';
import type { Logger } from '../src/infra/logger.ts';
import { BotCrashedError, BotFailedError, BotOutputError, BotRunError, BotTimeoutError } from '../src/registry/errors.ts';
import type { CandleStore } from '../src/store/candleStore.ts';
import type { BotHealthStore, StatsStore } from '../src/store/statsStore.ts';
import type { CandleWindow } from '../src/core/candle.ts';
import { timeframeMs } from '../src/core/timeframe.ts';
import { stamp } from '../src/contracts/envelope.ts';
import type { ModelStore } from '../src/store/modelStore.ts';
import type { Queues } from '../queues/producers.ts';
import { marketKey } from '../src/core/market.ts';
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
    candles: CandleWindow;
    others: Record<string, CandleWindow>;
    inventory: number;
    model: unknown;
  }): Promise<Signal>;
  train(request: { instanceId: string; botId: string; symbol: string; timeframe: string; params: Record<string, unknown>; candles: CandleWindow }): Promise<unknown>;
}

export interface AnalysisDeps {
  /** Windows up to a candle; in a worker, shared by the jobs of that candle (RecentWindows). */
  candles: Pick<CandleStore, 'window' | 'latest'>;
  stats: StatsStore;
  health: BotHealthStore;
  runner: BotExecutor;
  /** Version of each discovered bot, recorded with its signals. */
  botVersions: Record<string, string>;
  models: ModelStore;
  /** Failures in a row that quarantine an instance. */
  quarantineAfter: number;
  queues: Pick<Queues, 'notify'>;
  lock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T>;
  trainTimeoutMs: number;
  /**
   * The holding's share of equity recorded by the market's decision on `prevTs` (0 for the first
   * candle); 'pending' while that decision is still to come; undefined if it will never come.
   */
  inventoryAfter(symbol: string, timeframe: string, prevTs: number | null): Promise<number | 'pending' | undefined>;
  /** Asks the decision at `ts` to wake this job when it is made. */
  wakeMeAfter(symbol: string, timeframe: string, ts: number, jobId: string): Promise<void>;
  /** The holding's share of equity now, valued at `close`: when the previous decision is missing. */
  inventoryNow(symbol: string, close: number): Promise<number>;
  log: Logger;
  now(): number;
}

/** How often an analysis looks again for the candle it waits for: soon at first, then less often. */
const WAIT_POLL_MS = 20;
const WAIT_POLL_MAX_MS = 1000;
/** A decision wakes the analyses waiting for it; this is only the fallback if that wake-up is missed. */
const DECISION_RETRY_MS = 500;

/** Gives the slot back and looks again after `ms`, or `waitPoll` growing with the times it has looked. */
async function waitFor(job: Job, token: string, deps: AnalysisDeps, counter: string, ms?: number): Promise<never> {
  await deps.stats.incr(counter);
  const waitPoll = Math.min(WAIT_POLL_MAX_MS, WAIT_POLL_MS * 1.2 ** (job.attemptsStarted ?? 0));
  await job.moveToDelayed(Date.now() + (ms ?? waitPoll), token);
  throw new DelayedError();
}

/**
 * Runs one bot instance on one candle: reads the window (candles up to the decision candle only),
 * runs the bot in the isolated thread pool within its time budget, and returns a checked signal.
 * A bot's own failure fails this job only; the coordinator decides with the others.
 */
export function analysisProcessor(deps: AnalysisDeps) {
  return async (job: Job, token?: string): Promise<AnalysisResult> => {
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

    const others: Record<string, CandleWindow> = {};
    for (const symbol of m.others) {
      // A replay says how far each other market had got when this candle came: read up to there,
      // waiting for it if that candle is not stored yet, so the window never depends on timing.
      const asOf = m.othersAsOf?.[symbol];
      if (asOf !== undefined && token !== undefined && ((await deps.candles.latest(symbol, m.timeframe))?.ts ?? -1) < asOf) return waitFor(job, token, deps, 'analysis.waited-for-partner');
      const w = await deps.candles.window(symbol, m.timeframe, Math.min(asOf ?? m.candleTs, m.candleTs), m.windowSize);
      if (w.length > 0) others[symbol] = w;
    }
    let inventory = 0;
    if (m.inventoryFrom) {
      const prevTs = m.inventoryFrom.prevTs;
      let known = await deps.inventoryAfter(m.symbol, m.timeframe, prevTs);
      if (known === 'pending' && token !== undefined && prevTs !== null) {
        // Noted before looking again, so that a decision made in between cannot miss the wake-up.
        await deps.wakeMeAfter(m.symbol, m.timeframe, prevTs, job.id!);
        known = await deps.inventoryAfter(m.symbol, m.timeframe, prevTs);
      }
      if (known === 'pending') {
        if (token !== undefined) return waitFor(job, token, deps, 'analysis.waited-for-inventory', DECISION_RETRY_MS);
        inventory = await deps.inventoryNow(m.symbol, candles.close[candles.length - 1]!);
      } else {
        inventory = known ?? (await deps.inventoryNow(m.symbol, candles.close[candles.length - 1]!));
      }
    }
    try {
      const model = m.model ? await modelFor(deps, m) : undefined;
      const signal = await deps.runner.run({ instanceId: m.instanceId, botId: m.botId, symbol: m.symbol, timeframe: m.timeframe, params: m.params, candles, others, inventory, model });
      deps.health.success(m.instanceId, signal.action);
      return result(signal, false);
    } catch (error) {
      if (!(error instanceof BotRunError)) throw error;
      const kind = error instanceof BotTimeoutError ? 'timedOut' : error instanceof BotOutputError ? 'badOutput' : 'failed';
      const streak = await deps.health.failure(m.instanceId, kind, error.message, deps.now());
      deps.log.warn({ instanceId: m.instanceId, botId: m.botId, candleTs: m.candleTs, err: error.message }, 'bot failed its analysis');
      if (streak >= deps.quarantineAfter) await quarantine(deps, m, streak, error.message);
      if (error instanceof BotCrashedError) throw error; // the thread died under it: worth one more try
      if (error instanceof BotFailedError || error instanceof BotTimeoutError || error instanceof BotOutputError) {
        throw new UnrecoverableError(`${m.instanceId}: ${error.message}`);
      }
      throw error;
    }
  };
}

/**
 * The model a learning bot uses at this candle: the one trained for the current period of
 * `retrainEvery` candles (periods are aligned to candle time, so every worker agrees), on the
 * `trainingWindow` candles before the period began and nothing later. Trained by the first
 * analysis that needs it, under a lock so that one worker trains while the others wait.
 */
async function modelFor(deps: AnalysisDeps, m: AnalysisMessage): Promise<unknown> {
  const spec = m.model!;
  const periodMs = spec.retrainEvery * timeframeMs(m.timeframe);
  const periodStart = Math.floor(m.candleTs / periodMs) * periodMs;
  const cached = await deps.models.get(m.instanceId, m.symbol, m.timeframe, periodStart);
  if (cached) return cached.model;
  return deps.lock(`model:${m.instanceId}:${marketKey(m.symbol)}:${m.timeframe}`, deps.trainTimeoutMs + 5000, async () => {
    const again = await deps.models.get(m.instanceId, m.symbol, m.timeframe, periodStart);
    if (again) return again.model;
    const history = await deps.candles.window(m.symbol, m.timeframe, periodStart - 1, spec.trainingWindow);
    const model = history.length > 0 ? await deps.runner.train({ instanceId: m.instanceId, botId: m.botId, symbol: m.symbol, timeframe: m.timeframe, params: m.params, candles: history }) : null;
    const lastTrainedTs = history.length > 0 ? history.ts[history.length - 1]! : null;
    // Kept for three periods: the current one, and the one before for stragglers.
    await deps.models.save(m.instanceId, m.symbol, m.timeframe, { periodStart, trainedOn: history.length, lastTrainedTs, model }, (3 * periodMs) / 1000);
    await deps.stats.incr('models.trained');
    deps.log.info({ instanceId: m.instanceId, symbol: m.symbol, periodStart, candles: history.length }, 'trained a model');
    return model;
  });
}

/** Takes an instance that keeps failing out of service and tells the operator, once. */
async function quarantine(deps: AnalysisDeps, m: AnalysisMessage, streak: number, lastError: string): Promise<void> {
  const reason = `${streak} failures in a row; last: ${lastError.slice(0, 300)}`;
  if (!(await deps.health.quarantine(m.instanceId, { reason, at: deps.now(), by: 'quorum' }))) return;
  await deps.stats.incr('bots.quarantined');
  deps.log.error({ instanceId: m.instanceId, botId: m.botId, reason }, 'bot instance quarantined');
  await deps.queues.notify({
    ...stamp('notification', 1, deps.now()),
    priority: 'error',
    event: 'bot.quarantined',
    title: `bot instance ${m.instanceId} (${m.botId}) quarantined`,
    body: `${reason}. It receives no jobs until released: quorum bots release ${m.instanceId}`,
  });
}
