import { Decimal } from 'decimal.js';
import { equity, unrealizedPnl } from '../core/ledger.ts';
import { quoteOf } from '../core/market.ts';
import { stamp } from '../contracts/envelope.ts';
import { replay, type ReplayReport } from '../feed/replay.ts';
import type { ReplayFile } from '../feed/replayFiles.ts';
import type { Context } from './context.ts';

/** Replays the configured CSV files into the ticks queue, never more than maxInFlight candles ahead. */
export async function runReplay(
  ctx: Context,
  options: { files?: ReplayFile[]; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<ReplayReport> {
  const { config, queues, stats } = ctx;
  return replay(
    {
      files: options.files ?? ctx.replayFiles,
      lastCandles: config.replay.lastCandles,
      speed: config.replay.speed,
      maxInFlight: config.replay.maxInFlight,
      signal: options.signal,
      onProgress: options.onProgress,
    },
    {
      emit: async (tick) => {
        const now = Date.now();
        await queues.addTick({ ...stamp('tick', 1, now), ...tick, seenAt: now });
        await stats.incr('candles.replayed');
      },
      inFlight: () => candlesInFlight(ctx),
      reject: (file, row) => stats.reject({ what: 'candle', reason: row.reason, detail: row.detail, where: `${file.path}:${row.line}` }),
    },
  );
}

/** Candles between the feed and their decision: queued ticks plus undecided coordinator jobs. */
async function candlesInFlight(ctx: Context): Promise<number> {
  const [ticks, decisions] = await Promise.all([
    ctx.queues.ticks.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
    ctx.queues.coordinator.getJobCounts('waiting-children', 'waiting', 'active', 'delayed', 'prioritized'),
  ]);
  return sum(ticks) + sum(decisions);
}

/** Resolves when no queue has a job waiting, running, delayed or waiting for children. */
export async function waitForDrain(ctx: Context, options: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  let quietPolls = 0;
  while (Date.now() < deadline && !options.signal?.aborted) {
    const counts = await Promise.all(
      ctx.queues.all().map(async (q) => {
        const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        // A job scheduler (reconciliation) always keeps its next run delayed: that is not work.
        const scheduled = await q.getJobSchedulersCount();
        return { ...c, delayed: Math.max(0, (c.delayed ?? 0) - scheduled) };
      }),
    );
    // Quiet for 400 ms: a job finishing can enqueue the next stage between two reads, and workers
    // flush their job counters every 200 ms (BatchedHashWrites).
    quietPolls = counts.every((c) => sum(c) === 0) ? quietPolls + 1 : 0;
    if (quietPolls >= 5) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export interface RunSummary {
  durationMs: number;
  candles: { replayed: number; stored: number; duplicates: number; rejected: Record<string, number>; rejectedTotal: number };
  decisions: { total: number; buy: number; sell: number; hold: number };
  orders: { placed: number; filled: number; cancelled: number; rejected: number; open: number; duplicatesSuppressed: number };
  fills: number;
  equity: Record<string, { start: string; end: string; pnl: string; realizedPnl: string; unrealizedPnl: string; fees: string }>;
  jobs: Record<string, { completed: number; failed: number; retried: number }>;
  payloadsRejected: number;
  risk: { tradingState: string; denials: Record<string, number>; exits: Record<string, number> };
}

export async function summarize(ctx: Context, startedAt: number): Promise<RunSummary> {
  const c = await ctx.stats.counters();
  const n = (k: string) => c[k] ?? 0;
  const rejected: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (k.startsWith('rejected.candle.')) rejected[k.slice('rejected.candle.'.length)] = v;

  const { state } = await ctx.ledger.snapshot();
  const currencies = Object.keys(ctx.config.paper.balances);
  const equityByQuote: RunSummary['equity'] = {};
  const marks: Record<string, string> = {};
  for (const symbol of Object.keys(state.positions)) {
    const timeframe = ctx.series.find((f) => f.symbol === symbol)?.timeframe ?? ctx.config.replay.timeframes[0]!;
    const last = await ctx.candles.latest(symbol, timeframe);
    if (last) marks[symbol] = String(last.close);
  }
  for (const quote of currencies) {
    const held = Object.keys(state.positions).filter((s) => quoteOf(s) === quote && marks[s] !== undefined);
    const quoteMarks = Object.fromEntries(held.map((s) => [s, marks[s]!]));
    const start = ctx.config.paper.balances[quote]!;
    const end = equity(state, quote, quoteMarks);
    equityByQuote[quote] = {
      start,
      end,
      pnl: new Decimal(end).minus(start).toFixed(),
      realizedPnl: state.realizedPnl[quote] ?? '0',
      unrealizedPnl: unrealizedPnl(state, quote, quoteMarks),
      fees: state.feesPaid[quote] ?? '0',
    };
  }

  const jobs: RunSummary['jobs'] = {};
  for (const q of ctx.queues.all()) {
    jobs[q.name] = { completed: n(`jobs.${q.name}.completed`), failed: n(`jobs.${q.name}.failed`), retried: n(`jobs.${q.name}.retried`) };
  }
  const byPrefix = (prefix: string) => Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  return {
    durationMs: Date.now() - startedAt,
    candles: { replayed: n('candles.replayed'), stored: n('candles.stored'), duplicates: n('candles.duplicate'), rejected, rejectedTotal: n('rejected.candle') },
    decisions: { total: n('decisions'), buy: n('decisions.buy'), sell: n('decisions.sell'), hold: n('decisions.hold') },
    orders: {
      placed: n('orders'),
      filled: n('orders.filled'),
      cancelled: n('orders.cancelled'),
      rejected: n('orders.rejected'),
      open: await ctx.ledger.openOrderCount(),
      duplicatesSuppressed: n('orders.duplicate-suppressed'),
    },
    fills: n('fills'),
    equity: equityByQuote,
    jobs,
    payloadsRejected: n('rejected.payload'),
    risk: { tradingState: (await ctx.risk.tradingState()).state, denials: byPrefix('denials.'), exits: byPrefix('exits.') },
  };
}

/** The summary as a person reads it at the end of `quorum start`. */
export function formatSummary(s: RunSummary): string {
  const lines = [
    '',
    `Run summary (${(s.durationMs / 1000).toFixed(1)} s)`,
    `  candles   replayed ${s.candles.replayed}, stored ${s.candles.stored}, duplicates ${s.candles.duplicates}, rejected ${s.candles.rejectedTotal}` +
      (s.candles.rejectedTotal > 0 ? ` (${Object.entries(s.candles.rejected).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''),
    `  decisions ${s.decisions.total} (buy ${s.decisions.buy}, sell ${s.decisions.sell}, hold ${s.decisions.hold})`,
    `  orders    placed ${s.orders.placed}, filled ${s.orders.filled}, cancelled ${s.orders.cancelled}, rejected ${s.orders.rejected}, open ${s.orders.open}; fills ${s.fills}`,
    ...Object.entries(s.equity).map(
      ([q, e]) => `  equity    ${q}: ${e.start} → ${e.end} (P&L ${e.pnl}; realised ${e.realizedPnl}, unrealised ${e.unrealizedPnl}, fees ${e.fees})`,
    ),
    `  risk      trading ${s.risk.tradingState}; denials ${listCounts(s.risk.denials)}; exits ${listCounts(s.risk.exits)}`,
    '  jobs      ' + Object.entries(s.jobs).map(([q, j]) => `${q} ${j.completed} ok / ${j.failed} failed`).join(', '),
    `  payloads rejected ${s.payloadsRejected}`,
  ];
  return lines.join('\n');
}

function listCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
