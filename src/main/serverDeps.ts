import { livePerformance } from './livePerformance.ts';
import { timeframeMs } from '../core/timeframe.ts';
import type { TradingState } from '../risk/tradingState.ts';
import { TimingStore } from '../store/timingStore.ts';
import { apiDataOf } from './apiData.ts';
import { disableInstance, enableInstance, releaseInstance, resetQuarantine } from './botControl.ts';
import type { Context } from './context.ts';
import { riskReport, setTradingState } from './riskReport.ts';

/** A feed counts as stale after this many candle lengths without a candle reaching the ticks queue. */
const FEED_STALE_CANDLES = 3;

/** What the HTTP server needs of a running deployment (host, port and token come from the config). */
export function serverDepsOf(ctx: Context) {
  const data = apiDataOf(ctx);
  const timeframe = ctx.series[0]?.timeframe ?? ctx.config.replay.timeframes[0] ?? '5m';
  return {
    redis: ctx.redis,
    queues: ctx.queues.all(),
    stats: ctx.stats,
    decisions: ctx.decisions,
    timings: new TimingStore(ctx.redis, ctx.keys),
    feedMaxAgeMs: FEED_STALE_CANDLES * timeframeMs(timeframe),
    risk: {
      report: () => riskReport(ctx),
      tradingState: () => ctx.risk.tradingState(),
      history: () => ctx.risk.tradingStateHistory(),
      setTradingState: (state: TradingState, reason: string, by: string) => setTradingState(ctx, state, reason, by),
    },
    bots: {
      list: () => data.bots(),
      statuses: () => data.statuses(),
      disable: (id: string, reason: string, by: string) => disableInstance(ctx, id, reason, by),
      enable: (id: string, by: string) => enableInstance(ctx, id, by),
      resetQuarantine: (id: string, by: string) => resetQuarantine(ctx, id, by),
      release: (id: string, by: string) => releaseInstance(ctx, id, by),
    },
    data,
    performance: {
      report: () => livePerformance(ctx),
    },
    log: ctx.log,
  };
}
