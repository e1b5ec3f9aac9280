import type { Redis } from 'ioredis';
import type { OrderContext } from '../core/roundTrips.ts';
import { orderContextOf, scoreCounts, voteCounts, type DecisionForPerformance, type EquityPoint, type InstanceCounters } from '../core/performance.ts';
import type { Keyspace } from '../infra/keys.ts';

/** Equity readings kept per currency (about a month of 5-minute candles per market). */
const EQUITY_POINTS_MAX = 100_000;

/**
 * The live pipeline's performance record, written as decisions are made: each instance's votes
 * and how many of them the market proved right, the equity curve of each account currency, and
 * each order's reason and voters (what a round trip is attributed by). Metrics are computed from
 * it on demand with the same pure code as the backtest report (src/core/performance.ts).
 */
export class PerformanceStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  /** Counts the decision's directional votes and remembers its order's context. */
  async recordDecision(account: string, d: DecisionForPerformance): Promise<void> {
    const multi = this.redis.multi();
    let writes = 0;
    for (const [instanceId, counter] of voteCounts(d)) {
      multi.hincrby(this.keys.perfInstances, `${instanceId}|${counter}`, 1);
      writes++;
    }
    if (d.order) {
      multi.hset(this.keys.perfOrders(account), d.order.clientOrderId, JSON.stringify(orderContextOf(d)));
      writes++;
    }
    if (writes > 0) await multi.exec();
  }

  /** Counts the votes of an earlier decision scored against the market's move since (`change`). */
  async recordScores(votes: DecisionForPerformance['votes'], change: number): Promise<void> {
    const counts = scoreCounts(votes, change);
    if (counts.length === 0) return;
    const multi = this.redis.multi();
    for (const [instanceId, counter] of counts) multi.hincrby(this.keys.perfInstances, `${instanceId}|${counter}`, 1);
    await multi.exec();
  }

  async recordEquity(account: string, quote: string, ts: number, equity: number): Promise<void> {
    if (!Number.isFinite(equity)) return;
    await this.redis.xadd(this.keys.perfEquity(account, quote), 'MAXLEN', '~', EQUITY_POINTS_MAX, '*', 't', String(ts), 'e', String(equity));
  }

  /** The equity readings of one currency in candle-time order, the last reading of each candle time kept. */
  async equityCurve(account: string, quote: string): Promise<EquityPoint[]> {
    const entries = await this.redis.xrange(this.keys.perfEquity(account, quote), '-', '+');
    const byTs = new Map<number, number>();
    for (const [, f] of entries) byTs.set(Number(f[1]), Number(f[3]));
    return [...byTs].map(([ts, equity]) => ({ ts, equity })).sort((a, b) => a.ts - b.ts);
  }

  async instanceCounters(): Promise<Map<string, InstanceCounters>> {
    const raw = await this.redis.hgetall(this.keys.perfInstances);
    const out = new Map<string, InstanceCounters>();
    for (const [field, value] of Object.entries(raw)) {
      const cut = field.lastIndexOf('|');
      const id = field.slice(0, cut);
      const c = out.get(id) ?? { buys: 0, sells: 0, scored: 0, hits: 0 };
      c[field.slice(cut + 1) as keyof InstanceCounters] = Number(value);
      out.set(id, c);
    }
    return out;
  }

  async orderContexts(account: string): Promise<Map<string, OrderContext>> {
    const raw = await this.redis.hgetall(this.keys.perfOrders(account));
    return new Map(Object.entries(raw).map(([id, json]) => [id, JSON.parse(json) as OrderContext]));
  }
}
