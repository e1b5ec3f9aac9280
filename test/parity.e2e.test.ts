import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../src/coordinator/decision.ts';
import type { Fill, OrderRecord } from '../src/core/order.ts';
import { buildPerformanceReport } from '../src/core/performance.ts';
import { runBacktest, type BacktestResult } from '../src/main/backtest.ts';
import { livePerformance } from '../src/main/livePerformance.ts';
import { ROOT, STARTER_INSTANCES, dropPrefix, freshPrefix, startPipeline, testConfig, type TestPipeline } from './helpers/pipeline.ts';

// The same candles through the queue pipeline (replay, workers, Redis) and through the
// backtester (one process, memory) give the same decisions, orders and fills.

const OVERRIDES = {
  'replay.files': ['data/ohlcv/XMR_BTC-5m.csv', 'data/ohlcv/ETH_BTC-5m.csv'],
  'replay.lastCandles': 500,
  'paper.slippageBps': 0,
  'coordinator.minVoters': 1,
  'coordinator.trackRecord.horizonCandles': 3,
  'risk.minEdgeSamples': 3,
  // Trend, reversion and breakout bots on both markets, and a market maker whose limit orders
  // rest, fill in parts and expire.
  'bots.instances': [...STARTER_INSTANCES, { id: 'mm', bot: 'market-maker' }],
};

/** What must agree: everything but the wall-clock fields. */
const decisionView = (d: Decision) => ({
  market: `${d.symbol} ${d.candleTs}`,
  action: d.action,
  consensus: d.consensus,
  votes: d.votes.map((v) => `${v.instanceId}:${v.action}:${v.confidence}:${v.effectiveWeight}`),
  abstentions: d.abstentions.map((a) => `${a.instanceId}:${a.why}`),
  exit: d.exit?.kind ?? null,
  risk: `${d.risk.verdict} ${d.risk.gate ?? ''} ${d.risk.reason}`,
  order: d.order && { ...d.order, limit: d.order.limit ?? null },
  inventory: d.inventory,
});
const orderView = (o: OrderRecord) => ({ id: o.intent.clientOrderId, intent: o.intent, status: o.status, filled: o.filledAmount, fills: o.fillCount, reason: o.reason ?? null });
const fillView = (f: Fill) => ({ id: f.clientOrderId, side: f.side, amount: f.amount, price: f.price, fee: f.fee, feeCurrency: f.feeCurrency, ts: f.ts });

describe('replay through the queues and backtest of the same candles', () => {
  const prefix = freshPrefix('parity');
  let pipeline: TestPipeline;
  let backtest: BacktestResult;
  let piped: { decisions: Decision[]; orders: OrderRecord[]; fills: Fill[] };

  beforeAll(async () => {
    const config = testConfig(prefix, OVERRIDES);
    pipeline = await startPipeline(config);
    await pipeline.replayAndDrain();
    const { ctx } = pipeline;
    piped = { decisions: (await ctx.decisions.all()) as Decision[], orders: await ctx.ledger.orders(), fills: await ctx.ledger.fills() };
    backtest = await runBacktest({ config, files: ctx.replayFiles, lastCandles: config.replay.lastCandles, cwd: ROOT, keepDecisionLog: true });
  }, 300_000);
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('trades: limit and market orders, in both markets, some filled and some expired', () => {
    const orders = backtest.record.book.allOrders();
    expect(new Set(orders.map((o) => o.intent.symbol))).toEqual(new Set(['XMR/BTC', 'ETH/BTC']));
    expect(new Set(orders.map((o) => o.intent.type))).toEqual(new Set(['market', 'limit']));
    expect(orders.some((o) => o.status === 'cancelled')).toBe(true);
    expect(backtest.record.book.fills.length).toBeGreaterThanOrEqual(8);
  });

  it('makes the same decision on every candle, with the same votes and risk verdict', () => {
    const byKey = (ds: Decision[]) => [...ds].sort((a, b) => a.candleTs - b.candleTs || a.symbol.localeCompare(b.symbol)).map(decisionView);
    expect(piped.decisions).toHaveLength(1000);
    expect(byKey(backtest.record.decisions)).toEqual(byKey(piped.decisions));
  });

  it('places the same orders and fills them fill for fill: same candle, price, amount and fee', () => {
    const sortOrders = (os: OrderRecord[]) => os.map(orderView).sort((a, b) => a.id.localeCompare(b.id));
    expect(sortOrders(backtest.record.book.allOrders())).toEqual(sortOrders(piped.orders));
    expect(backtest.record.book.fills.map(fillView)).toEqual(piped.fills.map(fillView));
  });

  it('ends with the same account and the same round trips', async () => {
    const { state } = await pipeline.ctx.ledger.snapshot();
    expect(backtest.record.book.account.cash).toEqual(state.cash);
    expect(backtest.record.book.account.positions).toEqual(state.positions);
    const contexts = await pipeline.ctx.performance.orderContexts(pipeline.ctx.account);
    const live = buildPerformanceReport({ generatedAt: 0, fills: piped.fills, contexts, marks: backtest.record.marks, equity: {}, counters: new Map(), periodMs: 300_000 });
    expect(backtest.report.trades).toEqual(live.trades);
    expect(live.trades.length).toBeGreaterThanOrEqual(4);
  });

  it("tracks the same performance live: trades, the votes, hits and P&L share of every instance", async () => {
    const live = await livePerformance(pipeline.ctx);
    expect(live.trades).toEqual(backtest.report.trades);
    expect(live.instances).toEqual(backtest.report.instances);
    expect(live.instances.map((i) => i.instanceId)).toEqual(['donchian-20', 'ema-fast', 'mm', 'rsi-14']);
    expect(live.instances.every((i) => i.votes > 0 && i.scored > 0)).toBe(true);
    // Live equity is read at the decisions that could trade; its metrics are those of that curve.
    const [m] = live.metrics;
    expect(m).toMatchObject({ currency: 'BTC', trades: backtest.report.trades.length, feesPaid: backtest.report.metrics[0]!.feesPaid });
    expect(live.equity.BTC!.length).toBeGreaterThan(10);
  });
});
