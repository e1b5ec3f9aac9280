import { Decimal } from 'decimal.js';
import { equity as equityOf } from '../core/ledger.ts';
import { quoteOf } from '../core/market.ts';
import { wouldBeWeights } from '../risk/engine.ts';
import { holdingsIn, seriesOf } from '../risk/portfolio.ts';
import { alignedReturns, type CloseSeries } from '../risk/returns.ts';
import type { TradingState, TradingStateRecord } from '../risk/tradingState.ts';
import { figuresAreFinite, portfolioReturns, riskFigures, type RiskFigures } from '../risk/valueAtRisk.ts';
import { riskLimitsOf } from './policies.ts';
import type { Context } from './context.ts';
import { stamp } from '../contracts/envelope.ts';

export interface QuoteRisk {
  quote: string;
  equity: string;
  peak: number | null;
  drawdown: number | null;
  /** Positions at their latest close, as fractions of equity. */
  weights: Record<string, number>;
  exposure: number;
  openPositions: number;
  /** One-candle figures of the portfolio as held now; null with too little history. */
  figures: RiskFigures | null;
}

export interface RiskReport {
  account: string;
  tradingState: TradingStateRecord;
  losses: { consecutiveStopOuts: number; lastStopOutAt: number | null };
  limits: ReturnType<typeof riskLimitsOf>;
  quotes: QuoteRisk[];
}

/**
 * The portfolio's risk as it stands, per quote currency: equity, drawdown, exposure, and the VaR,
 * CVaR and Monte Carlo drawdown figures the VaR gate uses, from the latest stored candles.
 */
export async function riskReport(ctx: Context): Promise<RiskReport> {
  const timeframe = ctx.config.replay.timeframes[0] ?? '5m';
  const limits = riskLimitsOf(ctx.config, timeframe);
  const { state } = await ctx.ledger.snapshot();
  const [tradingState, losses] = await Promise.all([ctx.risk.tradingState(), ctx.risk.losses(ctx.account)]);
  const quotes = new Set([...Object.keys(state.cash), ...Object.keys(state.positions).map(quoteOf)]);
  const out: QuoteRisk[] = [];
  for (const quote of [...quotes].sort()) {
    const marks: Record<string, string> = {};
    const closes: Record<string, CloseSeries> = {};
    for (const [symbol, p] of Object.entries(state.positions)) {
      if (quoteOf(symbol) !== quote || new Decimal(p.amount).isZero()) continue;
      const last = await ctx.candles.latest(symbol, timeframe);
      if (!last) continue;
      marks[symbol] = String(last.close);
      closes[symbol] = seriesOf(await ctx.candles.window(symbol, timeframe, last.ts, ctx.config.risk.correlationLookback + 1));
    }
    const equity = equityOf(state, quote, marks);
    const eq = Number(equity);
    const holdings = holdingsIn(quote, state, marks, []);
    const weights = wouldBeWeights({ holdings, symbol: '', equity: eq }, 0);
    delete weights[''];
    const figures = riskFigures(portfolioReturns(weights, alignedReturns(closes)), limits.var);
    const peakRaw = await ctx.redis.hget(ctx.keys.equityPeak(ctx.account), quote);
    const peak = peakRaw === null ? null : Math.max(Number(peakRaw), eq);
    out.push({
      quote,
      equity,
      peak,
      drawdown: peak && peak > 0 ? 1 - eq / peak : null,
      weights,
      exposure: Object.values(weights).reduce((s, w) => s + w, 0),
      openPositions: holdings.length,
      figures: figures && figuresAreFinite(figures) ? figures : null,
    });
  }
  return { account: ctx.account, tradingState, losses, limits, quotes: out };
}

/**
 * Throws the kill switch (or lifts it): records who and why, and tells the operator through the
 * notifications queue. Critical when trading stops, a warning when it resumes.
 */
export async function setTradingState(ctx: Context, state: TradingState, reason: string, by: string): Promise<TradingStateRecord> {
  const record: TradingStateRecord = { state, reason, by, at: Date.now() };
  await ctx.risk.setTradingState(record);
  ctx.log.warn({ state, reason, by }, 'trading state changed');
  await ctx.queues.notify({
    ...stamp('notification', 1, Date.now()),
    priority: state === 'ACTIVE' ? 'warning' : 'critical',
    event: 'kill-switch',
    title: `trading ${state} (${by})`,
    body: reason,
  });
  return record;
}
