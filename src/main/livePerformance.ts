import { buildPerformanceReport, type PerformanceReport } from '../core/performance.ts';
import { quoteOf } from '../core/market.ts';
import { timeframeMs } from '../core/timeframe.ts';
import type { Context } from './context.ts';

/**
 * The pipeline's performance, live: the backtest report's metrics, attribution and breakdown,
 * computed on demand from what the workers recorded (fills, each order's voters, each instance's
 * votes and scores, the equity readings of each decision), by the same pure code as the backtest.
 */
export async function livePerformance(ctx: Pick<Context, 'config' | 'ledger' | 'performance' | 'candles' | 'series' | 'account'>, now = Date.now()): Promise<PerformanceReport> {
  const quotes = [...new Set(ctx.series.map((s) => quoteOf(s.symbol)))].sort();
  const [fills, contexts, counters, curves, latest] = await Promise.all([
    ctx.ledger.fills(),
    ctx.performance.orderContexts(ctx.account),
    ctx.performance.instanceCounters(),
    Promise.all(quotes.map((q) => ctx.performance.equityCurve(ctx.account, q))),
    Promise.all(ctx.series.map((s) => ctx.candles.latest(s.symbol, s.timeframe))),
  ]);
  const marks: Record<string, string> = {};
  ctx.series.forEach((s, i) => {
    const c = latest[i];
    if (c) marks[s.symbol] = String(c.close);
  });
  const periods = ctx.series.map((s) => timeframeMs(s.timeframe));
  return buildPerformanceReport({
    generatedAt: now,
    fills,
    contexts,
    marks,
    equity: Object.fromEntries(quotes.map((q, i) => [q, curves[i]!]).filter(([, c]) => (c as unknown[]).length > 0)),
    counters,
    instanceIds: ctx.config.bots.instances.filter((i) => i.enabled !== false).map((i) => i.id),
    periodMs: periods.length > 0 ? Math.min(...periods) : 0,
  });
}
