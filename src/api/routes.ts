import { z } from 'zod';
import type { Candle } from '../core/candle.ts';
import type { Fill, OrderRecord } from '../core/order.ts';
import type { Trade } from '../core/roundTrips.ts';
import { TRADING_STATES, type TradingState, type TradingStateRecord } from '../risk/tradingState.ts';
import type { DecisionStore, StoredDecision } from '../store/decisionStore.ts';
import type { StatsStore } from '../store/statsStore.ts';
import { ApiError } from './errors.ts';
import { EXPORT_COLUMNS, fillRow, orderRow, toCsv, toJsonLines, tradeRow } from './export.ts';
import { route, type RouteDef } from './route.ts';

/** The fields of a recorded decision the API reads (the coordinator stores more: see processors/coordinator.ts). */
export type DecisionView = StoredDecision & {
  risk?: { verdict?: string; gate?: string; reason?: string } | undefined;
  votes?: unknown[] | undefined;
};

/** What a bot instance looks like to the API (src/main/apiData.ts builds it). */
export interface BotView {
  id: string;
  status: string;
  markets: string[];

}

export interface RiskView {
  tradingState: TradingStateRecord;
  quotes: Array<{ quote: string; equity: string; peak: number | null; drawdown: number | null; exposure: number; openPositions: number }>;

}

export interface BreakerView {
  account: string;
  state: { status: string; reason?: string; openedAt?: number };

}

/** What the API reads and changes; src/main/serverDeps.ts wires it to a deployment. */
export interface ApiDeps {
  stats: Pick<StatsStore, 'counters' | 'rejections'>;
  decisions: Pick<DecisionStore, 'recent'>;
  risk: {
    report(): Promise<RiskView>;
    tradingState(): Promise<TradingStateRecord>;
    history(): Promise<TradingStateRecord[]>;
    setTradingState(state: TradingState, reason: string, by: string): Promise<TradingStateRecord>;
  };
  bots: {
    list(): Promise<BotView[]>;
    /** Just the status of each instance (cheaper than list: no P&L attribution). */
    statuses(): Promise<string[]>;
    disable(instanceId: string, reason: string, by: string): Promise<void>;
    enable(instanceId: string, by: string): Promise<{ wasDisabled: boolean }>;
    resetQuarantine(instanceId: string, by: string): Promise<{ wasQuarantined: boolean }>;
    release(instanceId: string, by: string): Promise<{ wasQuarantined: boolean; wasDisabled: boolean }>;
  };
  data: {
    positions(): Promise<unknown[]>;
    orders(): Promise<OrderRecord[]>;
    fills(): Promise<Fill[]>;
    trades(): Promise<Trade[]>;
    markets(): Array<{ symbol: string; timeframe: string }>;
    candles(symbol: string, timeframe: string, limit: number): Promise<Candle[]>;
    breaker(): Promise<BreakerView>;
  };
  /** Performance figures (returns, ratios, drawdown, per-bot attribution). */
  performance: { report(): Promise<unknown> };
}

const InstanceId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a bot instance id (lower-case letters, digits and dashes)');
const Symbol = z.string().regex(/^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}$/, 'must be a market like ETH/BTC (upper case, one slash)');
const Timeframe = z.string().regex(/^\d{1,4}[smhdwM]$/, 'must be a timeframe like 5m, 1h or 1d');
const limit = (max: number, fallback: number) => z.coerce.number().int('must be a whole number').min(1).max(max).default(fallback).describe(`how many, at most ${max}`);
const Reason = z.string().trim().min(1, 'say why (it is recorded)').max(500);
const NoInput = z.object({}).strict();
const Ok = z.object({ instance: z.string() }).passthrough();

const byId = (params: { id: string }, bots: BotView[]) => {
  const bot = bots.find((b) => b.id === params.id);
  if (!bot) throw new ApiError('NOT_FOUND', `no configured bot instance "${params.id}" (GET /api/bots lists them)`);
  return bot;
};

/** A bot action on an id we do not know is a 404 (the control functions throw UnknownInstanceError). */
async function onInstance<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if ((error as Error).name === 'UnknownInstanceError') throw new ApiError('NOT_FOUND', (error as Error).message);
    throw error;
  }
}

export function isDenial(d: StoredDecision): boolean {
  return (d as DecisionView).risk?.verdict === 'deny';
}

/** Every /api route; the OpenAPI document is generated from this list. */
export function apiRoutes(deps: ApiDeps): RouteDef[] {
  const IdParams = z.object({ id: InstanceId }).strict();
  return [
    route({
      method: 'get', path: '/api/summary', tag: 'state', summary: 'Counters, recent decisions with their votes, rejected input',
      query: NoInput,
      handler: async () => ({ counters: await deps.stats.counters(), recentDecisions: await deps.decisions.recent(20), rejections: await deps.stats.rejections(20) }),
    }),
    route({
      method: 'get', path: '/api/bots', tag: 'bots', summary: 'Every bot instance: status, health, last signal, weight, P&L contribution',
      query: z.object({ status: z.enum(['running', 'quarantined', 'disabled', 'disabled in config']).optional() }).strict(),
      handler: async ({ query }) => {
        const all = await deps.bots.list();
        return { instances: query.status ? all.filter((b) => b.status === query.status) : all };
      },
    }),
    route({
      method: 'get', path: '/api/bots/:id', tag: 'bots', summary: 'One bot instance', params: IdParams, query: NoInput, errors: [404],
      handler: async ({ params }) => byId(params, await deps.bots.list()),
    }),
    route({
      method: 'post', path: '/api/bots/:id/disable', tag: 'bots', summary: 'Take an instance out of service (it gets no jobs until enabled)',
      params: IdParams, body: z.object({ reason: Reason }).strict(), errors: [404], responds: { schema: Ok },
      handler: async ({ params, body }) => {
        await onInstance(() => deps.bots.disable(params.id, body.reason, 'api'));
        return { instance: params.id, status: 'disabled' };
      },
    }),
    route({
      method: 'post', path: '/api/bots/:id/enable', tag: 'bots', summary: 'Lift a disable (a quarantine stays)', params: IdParams, errors: [404], responds: { schema: Ok },
      handler: async ({ params }) => ({ instance: params.id, ...(await onInstance(() => deps.bots.enable(params.id, 'api'))) }),
    }),
    route({
      method: 'post', path: '/api/bots/:id/reset-quarantine', tag: 'bots', summary: 'End a quarantine with a clean run of failures (a disable stays)', params: IdParams, errors: [404], responds: { schema: Ok },
      handler: async ({ params }) => ({ instance: params.id, ...(await onInstance(() => deps.bots.resetQuarantine(params.id, 'api'))) }),
    }),
    route({
      method: 'post', path: '/api/bots/:id/release', tag: 'bots', summary: 'Both: lift a disable and end a quarantine (as `quorum bots release`)', params: IdParams, errors: [404], responds: { schema: Ok },
      handler: async ({ params }) => ({ instance: params.id, status: 'running', ...(await onInstance(() => deps.bots.release(params.id, 'api'))) }),
    }),
    route({
      method: 'get', path: '/api/positions', tag: 'trading', summary: 'Open positions at their latest close, with unrealised P&L', query: NoInput,
      handler: async () => ({ positions: await deps.data.positions() }),
    }),
    route({
      method: 'get', path: '/api/orders', tag: 'trading', summary: 'Orders, newest first',
      query: z.object({ status: z.enum(['open', 'filled', 'cancelled', 'rejected']).optional(), symbol: Symbol.optional(), limit: limit(1000, 100) }).strict(),
      handler: async ({ query }) => {
        const orders = (await deps.data.orders())
          .filter((o) => (!query.status || o.status === query.status) && (!query.symbol || o.intent.symbol === query.symbol))
          .sort((a, b) => b.createdAt - a.createdAt);
        return { total: orders.length, orders: orders.slice(0, query.limit) };
      },
    }),
    route({
      method: 'get', path: '/api/decisions', tag: 'trading', summary: 'Recent decisions with every vote, abstention and the risk gates',
      query: z.object({ symbol: Symbol.optional(), action: z.enum(['buy', 'sell', 'hold']).optional(), limit: limit(500, 50) }).strict(),
      handler: async ({ query }) => {
        // The log is newest first; filters look further back so that a filtered page is not empty by accident.
        const scan = await deps.decisions.recent(query.symbol || query.action ? Math.max(query.limit * 20, 1000) : query.limit);
        return { decisions: scan.filter((d) => (!query.symbol || d.symbol === query.symbol) && (!query.action || d.action === query.action)).slice(0, query.limit) };
      },
    }),
    route({
      method: 'get', path: '/api/denials', tag: 'risk', summary: 'Recent entries denied by the risk engine, with the gate and the reason',
      query: z.object({ limit: limit(500, 50) }).strict(),
      handler: async ({ query }) => {
        const denials = (await deps.decisions.recent(2000)).filter(isDenial).slice(0, query.limit);
        return { denials: denials.map((d) => ({ symbol: d.symbol, timeframe: d.timeframe, candleTs: d.candleTs, ...(d as DecisionView).risk })) };
      },
    }),
    route({
      method: 'get', path: '/api/performance', tag: 'risk', summary: 'Performance figures', query: NoInput,
      handler: () => deps.performance.report(),
    }),
    route({
      method: 'get', path: '/api/risk', tag: 'risk', summary: 'Equity, drawdown, exposure, VaR/CVaR per quote currency; the limits', query: NoInput,
      handler: () => deps.risk.report(),
    }),
    route({
      method: 'get', path: '/api/breaker', tag: 'risk', summary: 'The execution circuit breaker: state, why it opened, next probe', query: NoInput,
      handler: () => deps.data.breaker(),
    }),
    route({
      method: 'get', path: '/api/trading-state', tag: 'risk', summary: 'The kill switch and its history', query: NoInput,
      handler: async () => ({ current: await deps.risk.tradingState(), history: await deps.risk.history() }),
    }),
    route({
      method: 'post', path: '/api/trading-state', tag: 'risk', summary: 'Throw the kill switch (HALTED, REDUCING) or lift it (ACTIVE): recorded and notified',
      body: z.object({ state: z.enum(TRADING_STATES), reason: Reason }).strict(),
      handler: async ({ body }) => ({ current: await deps.risk.setTradingState(body.state, body.reason, 'api') }),
    }),
    route({
      method: 'get', path: '/api/markets', tag: 'markets', summary: 'The markets and timeframes this deployment trades', query: NoInput,
      handler: () => ({ markets: deps.data.markets() }),
    }),
    route({
      method: 'get', path: '/api/candles', tag: 'markets', summary: 'Stored candles of one market, oldest first, with the fills on it (trade markers)',
      query: z.object({ symbol: Symbol, timeframe: Timeframe.optional(), limit: limit(1000, 300) }).strict(), errors: [404],
      handler: async ({ query }) => {
        const series = deps.data.markets().find((m) => m.symbol === query.symbol && (!query.timeframe || m.timeframe === query.timeframe));
        if (!series) throw new ApiError('NOT_FOUND', `this deployment does not trade ${query.symbol}${query.timeframe ? ` on ${query.timeframe}` : ''} (GET /api/markets lists what it trades)`);
        const candles = await deps.data.candles(series.symbol, series.timeframe, query.limit);
        const from = candles[0]?.ts ?? Infinity;
        const fills = (await deps.data.fills()).filter((f) => f.symbol === series.symbol && f.ts >= from);
        return { symbol: series.symbol, timeframe: series.timeframe, candles, fills };
      },
    }),
    route({
      method: 'get', path: '/api/export/:kind', tag: 'export', summary: 'Orders, fills or round trips as CSV or JSON lines (a download)',
      params: z.object({ kind: z.enum(['orders', 'fills', 'trades']) }).strict(),
      query: z.object({ format: z.enum(['csv', 'jsonl']).default('jsonl'), from: z.coerce.number().int().nonnegative().optional().describe('ms since the epoch, inclusive'), to: z.coerce.number().int().nonnegative().optional().describe('ms since the epoch, exclusive') }).strict()
        .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] }),
      responds: { type: 'text/csv', description: 'text/csv or application/x-ndjson, by format' },
      handler: async ({ params, query }, _req, res) => {
        const inRange = (ts: number) => (query.from === undefined || ts >= query.from) && (query.to === undefined || ts < query.to);
        const records: unknown[] =
          params.kind === 'orders' ? (await deps.data.orders()).filter((o) => inRange(o.createdAt)).sort((a, b) => a.createdAt - b.createdAt)
          : params.kind === 'fills' ? (await deps.data.fills()).filter((f) => inRange(f.ts))
          : (await deps.data.trades()).filter((t) => inRange(t.entryTs));
        const rowOf = { orders: orderRow, fills: fillRow, trades: tradeRow }[params.kind] as (r: unknown) => Record<string, string | number | boolean | null | undefined>;
        res.setHeader('content-disposition', `attachment; filename="quorum-${params.kind}.${query.format}"`);
        if (query.format === 'csv') res.type('text/csv; charset=utf-8').send(toCsv(records.map(rowOf), EXPORT_COLUMNS[params.kind]));
        else res.type('application/x-ndjson; charset=utf-8').send(toJsonLines(records));
      },
    }),
  ];
}
