import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import type { Decision } from '../src/coordinator/decision.ts';
import type { EquityPoint, PerformanceMetrics } from '../src/core/performance.ts';
import type { Trade } from '../src/core/roundTrips.ts';
import { resolveReplayFiles } from '../src/feed/replayFiles.ts';
import { runBacktest, type BacktestResult } from '../src/main/backtest.ts';
import type { ReportJson } from '../src/backtest/writeReport.ts';
import { parseCsv } from './helpers/csvParse.ts';
import { ROOT, STARTER_INSTANCES } from './helpers/pipeline.ts';

const run = promisify(execFile);
const FILES = ['data/ohlcv/XMR_BTC-5m.csv', 'data/ohlcv/ETH_BTC-5m.csv'];
/** Settings under which the bots trade often enough in a short span to have something to measure. */
const SETTINGS = {
  log: { level: 'silent' },
  coordinator: { minVoters: 1, trackRecord: { horizonCandles: 3 } },
  risk: { minEdgeSamples: 3 },
  bots: { instances: [...STARTER_INSTANCES, { id: 'mm', bot: 'market-maker' }] },
};

function configOf(overrides: Record<string, unknown> = {}) {
  return loadConfig({ file: undefined, env: {}, cwd: ROOT, overrides: { 'log.level': 'silent', 'coordinator.minVoters': 1, 'coordinator.trackRecord.horizonCandles': 3, 'risk.minEdgeSamples': 3, 'bots.instances': SETTINGS.bots.instances, ...overrides } }).config;
}

async function backtest(overrides: Record<string, unknown> = {}, options: Partial<Parameters<typeof runBacktest>[0]> = {}): Promise<BacktestResult> {
  const config = configOf(overrides);
  return runBacktest({ config, files: resolveReplayFiles(FILES, { cwd: ROOT }), lastCandles: 600, cwd: ROOT, ...options });
}

const view = (d: Decision) => ({ ...d, decidedAt: 0, latencyMs: 0, order: d.order && { ...d.order, limit: d.order.limit ?? null } });

describe('quorum backtest (the command)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-backtest-'));
  const out = join(dir, 'report');
  let report: ReportJson;
  let summary: { out: string; run: { candles: number; fills: number; evaluations: number }; metrics: PerformanceMetrics[] };

  beforeAll(async () => {
    const configFile = join(dir, 'quorum.config.yaml');
    writeFileSync(configFile, stringify(SETTINGS));
    const { stdout } = await run(process.execPath, ['bin/quorum.js', '--config', configFile, 'backtest', '--data', ...FILES, '--last', '800', '--out', out, '--json'], { cwd: ROOT, timeout: 120_000 });
    summary = JSON.parse(stdout);
    report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportJson;
  }, 150_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes report.json, trades.csv, equity.csv and report.html, and prints a JSON summary', () => {
    expect(summary.out).toBe(out);
    expect(summary.run.candles).toBe(1600);
    expect(summary.run.evaluations).toBeGreaterThan(1600);
    const trades = parseCsv(readFileSync(join(out, 'trades.csv'), 'utf8'));
    expect(trades.length - 1).toBe(report.report.trades.length);
    const equity = parseCsv(readFileSync(join(out, 'equity.csv'), 'utf8'));
    expect(equity.length - 1).toBe(report.report.equity.BTC!.length);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<html');
  });

  it('lists every trade with its market, side, quantity, entry and exit, fees, P&L, exit reason and voters', () => {
    const { trades } = report.report;
    expect(trades.length).toBeGreaterThanOrEqual(4);
    for (const t of trades) {
      expect(t).toMatchObject({ symbol: expect.stringMatching(/\/BTC$/), side: 'long', quantity: expect.any(String), entryTs: expect.any(Number), entryPrice: expect.any(String), fees: expect.any(String), pnl: expect.any(String) });
      if (t.status === 'closed') expect(t.exitReason).toBeTruthy();
      expect(t.voters.length).toBeGreaterThan(0);
      expect(t.voters.reduce((s, v) => s + v.share, 0)).toBeCloseTo(1, 9);
    }
    expect(report.config).toMatchObject({ coordinator: { minVoters: 1 } });
  });

  it('has metrics that its own trade list and equity series give when recomputed from scratch', () => {
    const [m] = report.report.metrics as [PerformanceMetrics];
    const curve: EquityPoint[] = report.report.equity.BTC!;
    const trades: Trade[] = report.report.trades;
    const closed = trades.filter((t) => t.status === 'closed');
    const e = curve.map((p) => p.equity);

    expect(m.startEquity).toBe(e[0]);
    expect(m.endEquity).toBe(e.at(-1));
    expect(m.totalReturn).toBeCloseTo(e.at(-1)! / e[0]! - 1, 12);
    const years = (curve.at(-1)!.ts - curve[0]!.ts) / (365 * 86_400_000);
    expect(m.annualizedReturn).toBeCloseTo((e.at(-1)! / e[0]!) ** (1 / years) - 1, 9);

    // Per-candle returns, annualised by the number of 5-minute candles in a year.
    const r = e.slice(1).map((x, i) => x / e[i]! - 1);
    const avg = r.reduce((a, b) => a + b, 0) / r.length;
    const sd = Math.sqrt(r.reduce((a, b) => a + (b - avg) ** 2, 0) / (r.length - 1));
    const perYear = (365 * 86_400_000) / 300_000;
    expect(m.sharpe).toBeCloseTo((avg / sd) * Math.sqrt(perYear), 6);
    const downside = Math.sqrt(r.reduce((a, b) => a + Math.min(b, 0) ** 2, 0) / r.length);
    expect(m.sortino).toBeCloseTo((avg / downside) * Math.sqrt(perYear), 6);

    let peak = -Infinity;
    let depth = 0;
    let since: number | null = null;
    let peakTs = 0;
    let longest = 0;
    for (const p of curve) {
      if (p.equity >= peak) {
        if (since !== null) longest = Math.max(longest, p.ts - since);
        [peak, peakTs, since] = [p.equity, p.ts, null];
      } else {
        since ??= peakTs;
        depth = Math.max(depth, (peak - p.equity) / peak);
      }
    }
    if (since !== null) longest = Math.max(longest, curve.at(-1)!.ts - since);
    expect(m.maxDrawdown.depth).toBeCloseTo(depth, 12);
    expect(m.maxDrawdown.durationMs).toBe(longest);
    expect(m.calmar).toBeCloseTo(m.annualizedReturn! / depth, 6);

    const pnl = closed.map((t) => new Decimal(t.pnl));
    const wins = pnl.filter((p) => p.gt(0));
    const losses = pnl.filter((p) => p.lt(0));
    const sum = (xs: Decimal[]) => xs.reduce((a, b) => a.plus(b), new Decimal(0));
    expect(m.trades).toBe(trades.length);
    expect(m.closedTrades).toBe(closed.length);
    expect(m.winRate).toBeCloseTo(wins.length / closed.length, 12);
    expect(m.profitFactor).toBeCloseTo(sum(wins).div(sum(losses).abs()).toNumber(), 9);
    expect(Number(m.expectancy)).toBeCloseTo(sum(pnl).div(pnl.length).toNumber(), 10);
    expect(m.averageWin === null ? null : Number(m.averageWin)).toBe(wins.length ? Number(sum(wins).div(wins.length).toDecimalPlaces(12)) : null);
    expect(m.averageLoss === null ? null : Number(m.averageLoss)).toBe(losses.length ? Number(sum(losses).div(losses.length).toDecimalPlaces(12)) : null);
    expect(m.feesPaid).toBe(sum(trades.map((t) => new Decimal(t.fees))).toFixed());

    // Exposure: the share of the run with a position open, overlaps counted once.
    const from = curve[0]!.ts;
    const to = curve.at(-1)!.ts;
    const open = new Set<number>();
    for (const t of trades) for (let ts = Math.max(from, t.entryTs); ts < Math.min(to, t.exitTs ?? to); ts += 300_000) open.add(ts);
    expect(m.exposureTime).toBeCloseTo((open.size * 300_000) / (to - from), 9);

    // Attribution: each instance's P&L share adds up to the trades' P&L.
    const attributed = report.report.instances.reduce((s, i) => s.plus(i.pnl.BTC ?? 0), new Decimal(0));
    expect(attributed.toNumber()).toBeCloseTo(sum(trades.map((t) => new Decimal(t.pnl))).toNumber(), 10);
    for (const i of report.report.instances) {
      expect(i.votes).toBe(i.buys + i.sells);
      if (i.scored > 0) expect(i.hitRate).toBeGreaterThanOrEqual(0);
    }
  });

  it('refuses a bad time bound or a missing data file with a clear message', async () => {
    const bad = await run(process.execPath, ['bin/quorum.js', 'backtest', '--data', FILES[0]!, '--from', 'yesterday', '--out', out], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--from "yesterday" is not a time') });
    const missing = await run(process.execPath, ['bin/quorum.js', 'backtest', '--data', 'data/ohlcv/NOPE_BTC-5m.csv', '--out', out], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('not found') });
  });
});

describe('the backtester never looks ahead', () => {
  it('no bot, risk gate or track record reads a candle after the one being decided', async () => {
    const reads: Array<{ by: string; decisionTs: number; lastTs: number | null }> = [];
    await backtest({}, { onRead: (r) => reads.push(r) });
    const readers = new Set(reads.map((r) => r.by));
    for (const who of ['ema-fast', 'rsi-14', 'donchian-20', 'mm', 'risk', 'track record']) expect(readers).toContain(who);
    const late = reads.filter((r) => r.lastTs !== null && r.lastTs > r.decisionTs);
    expect(late).toEqual([]);
  });

  it('decides every candle the same whether or not later candles exist', async () => {
    const full = await backtest({}, { keepDecisionLog: true });
    const cut = full.run.from! + (full.run.to! - full.run.from!) / 2;
    const truncated = await backtest({}, { from: full.run.from!, to: cut, lastCandles: 0, keepDecisionLog: true });
    const upToCut = full.record.decisions.filter((d) => d.candleTs <= cut);
    expect(truncated.record.decisions.length).toBe(upToCut.length);
    expect(truncated.record.decisions.map(view)).toEqual(upToCut.map(view));
    expect(upToCut.some((d) => d.order)).toBe(true);
  });

  it('fails a bot that writes into its candle window, and the others still see the market as it was', async () => {
    const overrides = (instances: unknown[]) => ({ 'bots.dir': 'test/fixtures/runner-bots', 'bots.instances': instances, 'bots.quarantineAfter': 1000 });
    const good = { id: 'b-good', bot: 'good' };
    const alone = await backtest(overrides([good]), { keepDecisionLog: true, lastCandles: 50 });
    // The scribbler's id sorts first: it runs before the good bot on every candle.
    const beside = await backtest(overrides([{ id: 'a-scribbler', bot: 'scribbler' }, good]), { keepDecisionLog: true, lastCandles: 50 });
    const goodVotes = (r: BacktestResult) => r.record.decisions.map((d) => d.votes.filter((v) => v.instanceId === 'b-good').map((v) => v.reason));
    expect(goodVotes(beside)).toEqual(goodVotes(alone));
    expect(goodVotes(alone).flat().some((reason) => /last=0\.\d+/.test(reason))).toBe(true);
    expect(beside.run.botFailures['a-scribbler']).toEqual({ count: 100, last: 'wrote into its candle window (bots must treat their input as read-only)' });
    expect(beside.run.evaluations).toBe(alone.run.evaluations + 100);

    // A bot that swaps a column of its window object (not the candles in it) breaks nothing and
    // fails nothing: each bot still gets the window as made.
    const swapped = await backtest(overrides([{ id: 'a-swapper', bot: 'swapper' }, good]), { keepDecisionLog: true, lastCandles: 50 });
    expect(goodVotes(swapped)).toEqual(goodVotes(alone));
    expect(swapped.run.botFailures).toEqual({});
  });

  it('quarantines an instance after quarantineAfter failures in a row, and not one whose failures a success interrupts', async () => {
    const overrides = { 'bots.dir': 'test/fixtures/runner-bots', 'bots.quarantineAfter': 2, 'bots.instances': [{ id: 'always', bot: 'throws' }, { id: 'sometimes', bot: 'flaky' }, { id: 'steady', bot: 'good' }] };
    // One market: an instance's failures in a row are counted across its markets.
    const result = await backtest(overrides, { lastCandles: 40, files: resolveReplayFiles([FILES[0]!], { cwd: ROOT }) });
    expect(result.run.quarantined).toEqual(['always']);
    expect(result.run.botFailures.always).toEqual({ count: 2, last: 'division by zero in my strategy' });
    // 40 candles: the flaky bot failed on half of them and kept running.
    expect(result.run.botFailures.sometimes!.count).toBe(20);
    expect(result.run.botFailures.sometimes!.last).toBe('flaked');
  });

  it('forgets decisions past the track record horizon without changing a thing (memory stays flat on long runs)', async () => {
    const kept = await backtest({}, { keepDecisionLog: true, now: () => 0 });
    const lean = await backtest({}, { now: () => 0 });
    expect(lean.record.decisions).toEqual([]);
    expect(lean.run.decisions).toBe(kept.record.decisions.length);
    expect(kept.record.decisionCount).toBe(kept.record.decisions.length);
    // Scoring (which reads decisions 3 candles back here) and inventory (1 back) saw the same: same
    // scores, orders, fills and report.
    expect(kept.record.counters.size).toBeGreaterThan(0);
    expect([...kept.record.counters].some(([, c]) => c.scored > 0)).toBe(true);
    expect(lean.record.counters).toEqual(kept.record.counters);
    expect(lean.record.book.fills).toEqual(kept.record.book.fills);
    expect(lean.report).toEqual(kept.report);
  });

  it('fills an order only on a candle after its decision candle', async () => {
    const { record } = await backtest();
    const decidedAt = new Map(record.book.allOrders().map((o) => [o.intent.clientOrderId, o.intent.decisionTs]));
    expect(record.book.fills.length).toBeGreaterThan(0);
    for (const f of record.book.fills) expect(f.ts).toBeGreaterThan(decidedAt.get(f.clientOrderId)!);
  });
});
