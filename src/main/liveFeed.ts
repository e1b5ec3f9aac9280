import { stamp } from '../contracts/envelope.ts';
import { timeframeMs } from '../core/timeframe.ts';
import { marketKey } from '../core/market.ts';
import { closedCandlesAfter } from '../feed/poll.ts';
import { AuditLog } from '../store/auditLog.ts';
import type { Context } from './context.ts';
import { connectVenue } from './venue.ts';

export interface LiveFeedReport {
  polls: number;
  emitted: number;
  rejected: number;
  errors: number;
}

/** An exchange answers at most this many candles per request (binance: 1000). */
const MAX_CANDLES_PER_REQUEST = 1000;

/**
 * Polls closed candles of every configured market from the exchange (ccxt fetchOHLCV) into the
 * ticks queue. Its requests take their cost from the account's shared request budget, like every
 * other REST call of the account, and need no API keys. The first poll of a market brings
 * `feed.history` candles so that bots have their windows; after a restart it carries on from the
 * newest stored candle. A bad candle is rejected with its reason; a failed poll is counted and
 * retried at the next one. Tick job ids are deterministic, so a candle polled twice is one tick.
 */
export async function runCcxtFeed(ctx: Context, options: { signal?: AbortSignal; once?: boolean; now?: () => number } = {}): Promise<LiveFeedReport> {
  const clock = options.now ?? Date.now;
  const { config, log } = ctx;
  const audit = new AuditLog(ctx.redis, ctx.keys);
  const { client } = await connectVenue(ctx, audit, false);
  const report: LiveFeedReport = { polls: 0, emitted: 0, rejected: 0, errors: 0 };
  const last = new Map<string, number | null>();
  const cursorKey = (symbol: string, timeframe: string) => ctx.keys.feedCursor(marketKey(symbol), timeframe);
  for (const s of ctx.series) {
    // Carry on after the newest candle handed over (by this feed before a restart) or stored.
    const handed = Number((await ctx.redis.get(cursorKey(s.symbol, s.timeframe))) ?? NaN);
    const stored = (await ctx.candles.latest(s.symbol, s.timeframe))?.ts ?? NaN;
    const from = Math.max(Number.isFinite(handed) ? handed : -1, Number.isFinite(stored) ? stored : -1);
    last.set(`${s.symbol} ${s.timeframe}`, from >= 0 ? from : null);
  }
  try {
    while (!options.signal?.aborted) {
      for (const { symbol, timeframe } of ctx.series) {
        const key = `${symbol} ${timeframe}`;
        const tfMs = timeframeMs(timeframe);
        // Catch up in pages after an outage; a full page means there may be more.
        for (let page = 0; page < 100 && !options.signal?.aborted; page++) {
          const lastTs = last.get(key) ?? null;
          const now = clock();
          const since = lastTs ?? now - (config.feed.history + 1) * tfMs;
          const limit = Math.min(MAX_CANDLES_PER_REQUEST, Math.ceil((now - since) / tfMs) + 1);
          let rows: unknown[][];
          try {
            report.polls++;
            rows = await client.candles(symbol, timeframe, since, limit);
          } catch (error) {
            report.errors++;
            await ctx.stats.incr('feed.errors');
            log.warn({ symbol, timeframe, err: (error as Error).message }, 'candle poll failed; trying again at the next poll');
            break;
          }
          const polled = closedCandlesAfter(rows, lastTs, tfMs, clock());
          for (const r of polled.rejected) {
            report.rejected++;
            await ctx.stats.reject({ what: 'candle', reason: r.reason, detail: r.detail, where: `${config.exchange.id} ${symbol} ${timeframe}` });
          }
          for (const { candle, prevTs } of polled.ticks) {
            const seenAt = Date.now();
            await ctx.queues.addTick({ ...stamp('tick', 1, seenAt), symbol, timeframe, candle, prevTs, seenAt });
            await ctx.stats.incr('candles.polled');
            report.emitted++;
          }
          last.set(key, polled.lastTs);
          if (polled.lastTs !== null && polled.ticks.length > 0) await ctx.redis.set(cursorKey(symbol, timeframe), String(polled.lastTs));
          if (rows.length < limit || polled.ticks.length === 0) break;
        }
      }
      if (options.once) break;
      await sleep(config.feed.pollSeconds * 1000, options.signal);
    }
  } finally {
    await audit.close();
  }
  return report;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
