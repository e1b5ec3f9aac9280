import type { TradingState } from '../risk/tradingState.ts';
import { disableInstance, instanceReports, releaseInstance } from './botControl.ts';
import type { Context } from './context.ts';
import { riskReport, setTradingState } from './riskReport.ts';

/** What the HTTP server needs of a running deployment. */
export function serverDepsOf(ctx: Context) {
  return {
    redis: ctx.redis,
    queues: ctx.queues.all(),
    stats: ctx.stats,
    decisions: ctx.decisions,
    risk: {
      report: () => riskReport(ctx),
      tradingState: () => ctx.risk.tradingState(),
      history: () => ctx.risk.tradingStateHistory(),
      setTradingState: (state: TradingState, reason: string, by: string) => setTradingState(ctx, state, reason, by),
    },
    bots: {
      list: () => instanceReports(ctx),
      disable: (id: string, reason: string, by: string) => disableInstance(ctx, id, reason, by),
      release: (id: string, by: string) => releaseInstance(ctx, id, by),
    },
    log: ctx.log,
  };
}
