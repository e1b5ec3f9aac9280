import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCandleFile } from '../src/feed/candleCsv.ts';
import { resolveReplayFiles } from '../src/feed/replayFiles.ts';
import type { Candle } from '../src/core/candle.ts';
import type { Decision } from '../processors/coordinator.ts';
import type { RunSummary } from '../src/main/pipeline.ts';
import { QUEUE } from '../queues/names.ts';
import { stamp } from '../src/contracts/envelope.ts';
import { ROOT, STARTER_INSTANCES, dropPrefix, freshPrefix, startPipeline, testConfig, type TestPipeline, waitFor } from './helpers/pipeline.ts';

const FILES = ['data/ohlcv/ETH_BTC-5m.csv', 'data/ohlcv/LTC_BTC-5m.csv', 'data/ohlcv/XMR_BTC-5m.csv'];
const LAST = 400;

/** The replayed candles straight from the CSV files, independently of the pipeline. */
function replayedCandles(): Map<string, Candle[]> {
  const out = new Map<string, Candle[]>();
  for (const f of resolveReplayFiles(FILES, { cwd: ROOT })) {
    out.set(f.symbol, readCandleFile(f.path, f.timeframe).accepted.slice(-LAST).map((r) => r.candle));
  }
  return out;
}

describe('a replay of real data through the whole pipeline on a real Redis', () => {
  const prefix = freshPrefix('e2e');
  let pipeline: TestPipeline;
  let summary: RunSummary;
  const candles = replayedCandles();
  const totalCandles = [...candles.values()].reduce((n, c) => n + c.length, 0);

  beforeAll(async () => {
    pipeline = await startPipeline(testConfig(prefix, { 'replay.files': FILES, 'replay.lastCandles': LAST, 'paper.slippageBps': 0, 'bots.instances': STARTER_INSTANCES }));
    summary = await pipeline.replayAndDrain();
  });
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('decides every candle exactly once', async () => {
    expect(summary.candles.stored).toBe(totalCandles);
    expect(summary.decisions.total).toBe(totalCandles);
    const decisions = (await pipeline.ctx.decisions.all()) as Decision[];
    const keys = decisions.map((d) => `${d.symbol}@${d.candleTs}`);
    expect(new Set(keys).size).toBe(totalCandles);
    for (const [symbol, series] of candles) {
      for (const c of series) expect(await pipeline.ctx.decisions.get(symbol, '5m', c.ts), `${symbol} ${c.ts}`).toBeDefined();
    }
  });

  it('has every bot instance analyse every candle once', async () => {
    const instances = pipeline.config.bots.instances.map((i) => i.id).sort();
    expect(summary.jobs[QUEUE.analysis]!.completed).toBe(totalCandles * instances.length);
    expect(summary.jobs[QUEUE.analysis]!.failed).toBe(0);
    for (const d of (await pipeline.ctx.decisions.all()) as Decision[]) {
      const asked = [...d.votes.map((v) => v.instanceId), ...d.abstentions.map((a) => a.instanceId)].sort();
      expect(asked).toEqual(instances);
      for (const a of d.abstentions) expect(a.why).toMatch(/^warming up/);
    }
  });

  it('trades, and fills every order at the open of the candle after its decision', async () => {
    const fills = await pipeline.ctx.ledger.fills();
    expect(fills.length).toBeGreaterThan(0);
    expect(summary.orders.placed).toBe(fills.length + summary.orders.open + summary.orders.rejected);
    const orders = await pipeline.ctx.ledger.orders();
    for (const fill of fills) {
      const order = orders.find((o) => o.intent.clientOrderId === fill.clientOrderId)!;
      const next = candles.get(fill.symbol)!.find((c) => c.ts > order.intent.decisionTs)!;
      expect(fill.ts).toBe(next.ts);
      expect(new Decimal(fill.price).eq(next.open)).toBe(true);
    }
  });

  it('keeps equity = cash + positions at mark, to the last satoshi, recomputed from the fills', async () => {
    const fills = await pipeline.ctx.ledger.fills();
    let cash = new Decimal(pipeline.config.paper.balances.BTC!);
    const held = new Map<string, Decimal>();
    for (const f of fills) {
      const notional = new Decimal(f.amount).mul(f.price);
      const signed = f.side === 'buy' ? notional.neg() : notional;
      cash = cash.plus(signed).minus(f.fee);
      held.set(f.symbol, (held.get(f.symbol) ?? new Decimal(0)).plus(f.side === 'buy' ? f.amount : new Decimal(f.amount).neg()));
    }
    let expected = cash;
    for (const [symbol, amount] of held) expected = expected.plus(amount.mul(candles.get(symbol)!.at(-1)!.close));
    const { state } = await pipeline.ctx.ledger.snapshot();
    expect(state.cash.BTC).toBe(cash.toFixed());
    expect(summary.equity.BTC!.end).toBe(expected.toFixed());
  });

  it('places no order twice when the same replay runs again on the same Redis', async () => {
    const before = await pipeline.ctx.ledger.orders();
    const fillsBefore = await pipeline.ctx.ledger.fills();
    // While the first run's jobs are kept, BullMQ drops the re-added ticks by job id.
    const again = await pipeline.replayAndDrain();
    expect(again.candles.duplicates).toBe(0);
    expect(again.decisions.total).toBe(totalCandles);
    // Once they are trimmed, the candle store recognises every candle as a duplicate.
    await pipeline.ctx.queues.ticks.clean(0, 1_000_000, 'completed');
    const third = await pipeline.replayAndDrain();
    expect(third.candles.duplicates).toBe(totalCandles);
    expect(third.decisions.total).toBe(totalCandles);
    expect(await pipeline.ctx.ledger.orders()).toHaveLength(before.length);
    expect(await pipeline.ctx.ledger.fills()).toHaveLength(fillsBefore.length);
  });

  it('keeps a manually re-run execution job from placing its order again', async () => {
    const [order] = await pipeline.ctx.ledger.orders();
    const execution = pipeline.ctx.queues.execution;
    const job = await execution.getJob(order!.intent.clientOrderId);
    expect(job).toBeDefined();
    // Re-add it under the same id after removal, as a manual retry or a replayed job would.
    await job!.remove();
    await pipeline.ctx.queues.addExecution({ ...stamp('execution', 1, Date.now()), account: 'paper', intent: order!.intent, timeframe: '5m', seenAt: Date.now() });
    const fillsBefore = (await pipeline.ctx.ledger.fills()).length;
    await waitFor(async () => Boolean((await execution.getJob(order!.intent.clientOrderId))?.finishedOn));
    const result = (await execution.getJob(order!.intent.clientOrderId))!.returnvalue as { duplicate: boolean };
    expect(result.duplicate).toBe(true);
    expect(await pipeline.ctx.ledger.fills()).toHaveLength(fillsBefore);
  });
});
