import type { Redis } from 'ioredis';
import { marketKey } from '../core/market.ts';
import type { TrackRecord } from '../coordinator/trackRecord.ts';
import type { Keyspace } from '../infra/keys.ts';
import type { PositionWatch } from '../risk/exits.ts';
import { INITIAL_TRADING_STATE, TradingStateRecord } from '../risk/tradingState.ts';
import { Script } from './script.ts';

const STATE_LOG_MAX = 1000;
const SCORED_TTL_S = 7 * 86_400;

/** Raises the account's equity peak per quote currency and reads the day's first equity, in one step. */
const OBSERVE_EQUITY = new Script(`
local peak = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local equity = tonumber(ARGV[2])
if equity > peak then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  peak = equity
end
redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[2])
return { tostring(peak), redis.call('HGET', KEYS[2], ARGV[3]) }
`);

/**
 * Marks the candle time scored in the series' sorted set (once: 0 if it was already), trims the
 * set to its cap, oldest first, and saves the updated records, in one step.
 */
const SAVE_SCORED = new Script(`
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1) end
if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4)) end
return 1
`);

export interface LossRecord {
  consecutiveStopOuts: number;
  lastStopOutAt: number | null;
}

/**
 * What the risk engine remembers between candles: the kill switch, equity peaks and day starts,
 * the run of stop-outs, the position monitor's watches, and each instance's track record.
 * Values only; every rule that uses them is in src/risk and src/coordinator.
 */
export class RiskStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    /**
     * Most scored candle times remembered per market and timeframe: a vote is scored
     * `horizonCandles` after it, so only the last few are ever asked about. They also expire
     * 7 days after the series' last scoring.
     */
    readonly scoredPerSeries: number,
  ) {
    if (!(Number.isInteger(scoredPerSeries) && scoredPerSeries >= 1)) throw new Error(`scoredPerSeries must be a positive integer, got ${scoredPerSeries}`);
  }

  async tradingState(): Promise<TradingStateRecord> {
    const raw = await this.redis.get(this.keys.tradingState);
    if (raw === null) return INITIAL_TRADING_STATE;
    const parsed = TradingStateRecord.safeParse(JSON.parse(raw));
    // A corrupt record must not re-enable trading: treat it as halted and say why.
    return parsed.success ? parsed.data : { state: 'HALTED', reason: `stored trading state is unreadable: ${parsed.error.issues[0]?.message}`, by: 'quorum', at: 0 };
  }

  /** Sets the kill switch and appends the change to its history. */
  async setTradingState(record: TradingStateRecord): Promise<void> {
    const value = JSON.stringify(TradingStateRecord.parse(record));
    await this.redis
      .multi()
      .set(this.keys.tradingState, value)
      .xadd(this.keys.tradingStateLog, 'MAXLEN', '~', STATE_LOG_MAX, '*', 's', value)
      .hincrby(this.keys.counters, `trading-state.${record.state}`, 1)
      .exec();
  }

  async tradingStateHistory(count = 50): Promise<TradingStateRecord[]> {
    const entries = await this.redis.xrevrange(this.keys.tradingStateLog, '+', '-', 'COUNT', count);
    return entries.map(([, fields]) => JSON.parse(fields[1]!) as TradingStateRecord);
  }

  /** Records an equity reading; returns the peak so far and the equity at the day's first reading. */
  async observeEquity(account: string, quote: string, equity: number, day: string): Promise<{ peak: number; dayStart: number }> {
    const [peak, dayStart] = (await OBSERVE_EQUITY.run(this.redis, [this.keys.equityPeak(account), this.keys.dayStart(account)], [quote, String(equity), `${quote}:${day}`])) as [string, string];
    return { peak: Number(peak), dayStart: Number(dayStart) };
  }

  /** The equity peak so far and the day's first reading, before this reading (undefined: none yet). */
  async equityMemory(account: string, quote: string, day: string): Promise<{ peak: number | undefined; dayStart: number | undefined }> {
    const [peak, dayStart] = await Promise.all([this.redis.hget(this.keys.equityPeak(account), quote), this.redis.hget(this.keys.dayStart(account), `${quote}:${day}`)]);
    return { peak: peak === null ? undefined : Number(peak), dayStart: dayStart === null ? undefined : Number(dayStart) };
  }

  async losses(account: string): Promise<LossRecord> {
    const [count, last] = await this.redis.hmget(this.keys.losses(account), 'consecutive', 'lastStopOutAt');
    return { consecutiveStopOuts: Number(count ?? 0), lastStopOutAt: last === null || last === undefined ? null : Number(last) };
  }

  /** A stop-out lengthens the run; any other exit ends it. */
  async recordExit(account: string, stopOut: boolean, at: number): Promise<void> {
    const key = this.keys.losses(account);
    if (stopOut) await this.redis.multi().hincrby(key, 'consecutive', 1).hset(key, 'lastStopOutAt', at).exec();
    else await this.redis.hset(key, 'consecutive', 0);
  }

  async watch(account: string, symbol: string): Promise<PositionWatch | undefined> {
    const raw = await this.redis.hget(this.keys.positionWatch(account), symbol);
    return raw === null ? undefined : (JSON.parse(raw) as PositionWatch);
  }

  async setWatch(account: string, symbol: string, watch: PositionWatch | undefined): Promise<void> {
    if (watch) await this.redis.hset(this.keys.positionWatch(account), symbol, JSON.stringify(watch));
    else await this.redis.hdel(this.keys.positionWatch(account), symbol);
  }

  async watches(account: string): Promise<Record<string, PositionWatch>> {
    const all = await this.redis.hgetall(this.keys.positionWatch(account));
    return Object.fromEntries(Object.entries(all).map(([s, raw]) => [s, JSON.parse(raw) as PositionWatch]));
  }

  async trackRecords(symbol: string, timeframe: string): Promise<Map<string, TrackRecord>> {
    const all = await this.redis.hgetall(this.keys.trackRecords(marketKey(symbol), timeframe));
    return new Map(Object.entries(all).map(([id, raw]) => [id, JSON.parse(raw) as TrackRecord]));
  }

  async isScored(symbol: string, timeframe: string, ts: number): Promise<boolean> {
    return (await this.redis.zscore(this.keys.trackScored(marketKey(symbol), timeframe), String(ts))) !== null;
  }

  /** Saves the records updated by scoring the decision at `ts`, unless it was scored already: each is scored once. */
  async saveScored(symbol: string, timeframe: string, ts: number, records: ReadonlyMap<string, TrackRecord>): Promise<boolean> {
    const fields = [...records].flatMap(([id, r]) => [id, JSON.stringify(r)]);
    const series = marketKey(symbol);
    const done = await SAVE_SCORED.run(this.redis, [this.keys.trackScored(series, timeframe), this.keys.trackRecords(series, timeframe)], [ts, SCORED_TTL_S, this.scoredPerSeries, ...fields]);
    return Number(done) === 1;
  }
}
