import type { Position } from '../core/ledger.ts';
import { Decimal } from 'decimal.js';
import { pnlContributions } from '../core/performance.ts';
import { roundTrips, type OrderContext, type Trade } from '../core/roundTrips.ts';
import type { Candle } from '../core/candle.ts';
import type { Fill } from '../core/order.ts';
import type { StoredDecision } from '../store/decisionStore.ts';
import { instanceReports, type InstanceReport } from './botControl.ts';
import { breakerReport } from './breakerControl.ts';
import type { Context } from './context.ts';
import { riskReport } from './riskReport.ts';

export interface PositionView extends Position {
  /** The latest stored close of the market; null before any candle. */
  mark: string | null;
  /** (mark − average price) × amount; null without a mark. */
  unrealizedPnl: string | null;
}

export interface BotView extends InstanceReport {
  /** P&L of the round trips this instance voted for, by its share of each, per quote currency. */
  contribution: { trades: number; pnl: Record<string, string> };
}

/** The latest close of each held market, by the series that brings it. */
async function marksOf(ctx: Context, symbols: string[]): Promise<Record<string, string>> {
  const marks: Record<string, string> = {};
  for (const symbol of symbols) {
    const timeframe = ctx.series.find((s) => s.symbol === symbol)?.timeframe ?? ctx.config.replay.timeframes[0] ?? '5m';
    const last = await ctx.candles.latest(symbol, timeframe);
    if (last) marks[symbol] = String(last.close);
  }
  return marks;
}

/** The fields of a recorded decision (processors/coordinator.ts) that say why its order was placed. */
type OrderDecision = StoredDecision & {
  order?: { clientOrderId: string; side: string; purpose: 'consensus' | 'exit' } | null;
  votes?: Array<{ instanceId: string; action: string; confidence: number; effectiveWeight: number }>;
  exit?: { kind?: string } | null;
  risk?: { reason?: string };
};

/** What the decision behind each order said: its purpose, reason and the voters for its side. */
function orderContexts(decisions: StoredDecision[]): Map<string, OrderContext> {
  const out = new Map<string, OrderContext>();
  for (const d of decisions as OrderDecision[]) {
    const order = d.order;
    if (!order) continue;
    out.set(order.clientOrderId, {
      purpose: order.purpose,
      reason: d.risk?.reason ?? '',
      exitKind: d.exit?.kind,
      voters: (d.votes ?? []).filter((v) => v.action === order.side && v.effectiveWeight > 0).map((v) => ({ instanceId: v.instanceId, weight: v.effectiveWeight * v.confidence })),
    });
  }
  return out;
}

/**
 * What the API and the dashboard read of a deployment, beyond the stores themselves: positions
 * at their marks, round trips, each bot's P&L contribution, candles, the breaker.
 */
export function apiDataOf(ctx: Context) {
  // The configured instances do not change while a process runs; discovering them imports bots/.
  let reports: Promise<InstanceReport[]> | undefined;
  const instances = async () => {
    reports ??= instanceReports(ctx).catch((error: unknown) => {
      reports = undefined;
      throw error;
    });
    const list = await reports;
    // Status and health change all the time: read them fresh.
    const { quarantined, disabled } = await ctx.health.suspended();
    return Promise.all(
      list.map(async (i) => ({
        ...i,
        status: i.status === 'disabled in config' ? i.status : quarantined[i.id] ? ('quarantined' as const) : disabled[i.id] ? ('disabled' as const) : ('running' as const),
        suspension: quarantined[i.id] ?? disabled[i.id],
        health: await ctx.health.get(i.id),
      })),
    );
  };

  const trades = async (): Promise<Trade[]> => {
    const [fills, decisions, { state }] = await Promise.all([ctx.ledger.fills(), ctx.decisions.all(), ctx.ledger.snapshot()]);
    const contexts = orderContexts(decisions);
    const marks = await marksOf(ctx, Object.keys(state.positions));
    return roundTrips(fills, (id) => contexts.get(id), marks);
  };

  return {
    async positions(): Promise<PositionView[]> {
      const { state } = await ctx.ledger.snapshot();
      const held = Object.values(state.positions).filter((p) => !new Decimal(p.amount).isZero());
      const marks = await marksOf(ctx, held.map((p) => p.symbol));
      return held.map((p) => {
        const mark = marks[p.symbol] ?? null;
        return {
          symbol: p.symbol,
          amount: p.amount,
          avgPrice: p.avgPrice,
          costBasis: p.costBasis,
          realizedPnl: p.realizedPnl,
          fees: p.fees,
          mark,
          unrealizedPnl: mark === null ? null : new Decimal(mark).minus(p.avgPrice).times(p.amount).toFixed(),
        };
      });
    },
    orders: () => ctx.ledger.orders(),
    fills: (): Promise<Fill[]> => ctx.ledger.fills(),
    trades,
    statuses: async (): Promise<string[]> => (await instances()).map((i) => i.status),
    async bots(): Promise<BotView[]> {
      const [list, closed] = await Promise.all([instances(), trades()]);
      const contributions = pnlContributions(closed);
      return list.map((i) => ({ ...i, contribution: contributions.get(i.id) ?? { trades: 0, pnl: {} } }));
    },
    markets: () => ctx.series.map((s) => ({ ...s })),
    async candles(symbol: string, timeframe: string, limit: number): Promise<Candle[]> {
      const w = await ctx.candles.window(symbol, timeframe, Number.MAX_SAFE_INTEGER, limit);
      return Array.from({ length: w.length }, (_, i) => ({ ts: w.ts[i]!, open: w.open[i]!, high: w.high[i]!, low: w.low[i]!, close: w.close[i]!, volume: w.volume[i]! }));
    },
    breaker: () => breakerReport(ctx),
    risk: () => riskReport(ctx),
  };
}

export type ApiData = ReturnType<typeof apiDataOf>;
