import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { AnalysisMessage, CoordinatorMessage } from '../src/contracts/messages.ts';
import { TickMessage } from '../src/contracts/messages.ts';
import { stamp } from '../src/contracts/envelope.ts';
import { validateCandle } from '../src/core/candle.ts';
import { TransientError } from '../src/core/errors.ts';
import { timeframeMs } from '../src/core/timeframe.ts';
import type { ExchangeGateway } from '../src/exchange/gateway.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { BotInstance } from '../src/registry/instances.ts';
import type { CandleStore } from '../src/store/candleStore.ts';
import type { DecisionStore } from '../src/store/decisionStore.ts';
import type { StatsStore } from '../src/store/statsStore.ts';
import type { Queues } from '../queues/producers.ts';
import { QUEUE, jobId } from '../queues/names.ts';
import { marketKey } from '../src/core/market.ts';
import { notifyFilled, parseJob } from './common.ts';

export interface TicksDeps {
  candles: CandleStore;
  decisions: DecisionStore;
  stats: StatsStore;
  queues: Queues;
  gateway: ExchangeGateway;
  /** Instances subscribed to a market and in service (enabled, not disabled at runtime, not quarantined). */
  instancesFor(symbol: string): Promise<BotInstance[]>;
  /** The account's holding of a market as a fraction of equity, valued at `close`. */
  inventoryOf(symbol: string, close: number): Promise<number>;
  windowSize: number;
  log: Logger;
  now(): number;
}

const PREDECESSOR_WAIT_MS = 3000;

export type TickOutcome = { outcome: 'stored' | 'duplicate' | 'recovered'; analyses: number; fills: number };

/**
 * Stores the closed candle, lets the paper venue fill what waited for it, and fans out one flow:
 * a coordinator parent for the market and candle with one analysis child per bot instance.
 */
export function ticksProcessor(deps: TicksDeps) {
  return async (job: Job): Promise<TickOutcome> => {
    const tick = await parseJob(QUEUE.ticks, TickMessage, job, deps.stats);
    const { symbol, timeframe, candle } = tick;
    const verdict = validateCandle(candle, timeframeMs(timeframe), tick.prevTs ?? undefined);
    if (!verdict.ok) {
      await deps.stats.reject({ what: 'candle', reason: verdict.reason, detail: verdict.detail, where: `${QUEUE.ticks} job ${job.id}` });
      throw new UnrecoverableError(`rejected candle ${symbol} ${timeframe} ${candle.ts}: ${verdict.reason} (${verdict.detail})`);
    }

    let stored = await deps.candles.store(symbol, timeframe, candle, tick.prevTs);
    // Consecutive candles of one market can run side by side on several workers; the predecessor
    // is usually a few ms from being stored, so wait briefly before giving the slot back.
    for (let waited = 0; stored === 'predecessor-missing' && waited < PREDECESSOR_WAIT_MS; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
      stored = await deps.candles.store(symbol, timeframe, candle, tick.prevTs);
    }
    if (stored === 'predecessor-missing') {
      throw new TransientError(`candle ${candle.ts} of ${symbol} ${timeframe} waits for its predecessor ${tick.prevTs} to be stored`, 'predecessor-missing');
    }
    if (stored === 'stale') {
      await deps.stats.reject({ what: 'candle', reason: 'stale', detail: `${candle.ts} is older than the newest stored candle`, where: `${QUEUE.ticks} job ${job.id}` });
      throw new UnrecoverableError(`rejected candle ${symbol} ${timeframe} ${candle.ts}: older than the newest stored candle of the series`);
    }

    if (stored === 'duplicate') {
      // A duplicate is a no-op, unless an earlier run stored it and died before the fan-out.
      const decided = await deps.decisions.get(symbol, timeframe, candle.ts);
      const pending = await deps.queues.coordinator.getJob(jobId.decision(marketKey(symbol), timeframe, candle.ts));
      if (decided || pending) {
        await deps.stats.incr('candles.duplicate');
        return { outcome: 'duplicate', analyses: 0, fills: 0 };
      }
    } else {
      await deps.stats.incr('candles.stored');
    }

    const filled = (await deps.gateway.onCandle?.(symbol, timeframe, candle, deps.now())) ?? [];
    await notifyFilled(deps.queues, filled, deps.now());
    const instances = await deps.instancesFor(symbol);
    const inventory = instances.some((i) => i.family === 'market-making') ? await deps.inventoryOf(symbol, candle.close) : 0;
    const now = deps.now();
    const parent: CoordinatorMessage = {
      ...stamp('coordinator', 1, now),
      symbol,
      timeframe,
      candleTs: candle.ts,
      close: candle.close,
      prevTs: tick.prevTs,
      seenAt: tick.seenAt,
      instances: instances.map((i) => ({ instanceId: i.id, weight: i.weight, family: i.family, role: i.role })),
    };
    const children: AnalysisMessage[] = instances.map((i) => ({
      ...stamp('analysis', 1, now),
      symbol,
      timeframe,
      candleTs: candle.ts,
      instanceId: i.id,
      botId: i.botId,
      params: i.params,
      warmup: i.warmup,
      windowSize: Math.min(deps.windowSize, Math.max(i.warmup, 1)),
      others: i.otherMarkets[symbol] ?? [],
      inventory,
      model: i.model,
    }));
    await deps.queues.addCandleFlow(parent, children);
    return { outcome: stored === 'duplicate' ? 'recovered' : 'stored', analyses: children.length, fills: filled.length };
  };
}
