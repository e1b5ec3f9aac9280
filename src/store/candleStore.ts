import type { Redis } from 'ioredis';
import type { Candle, CandleWindow } from '../core/candle.ts';
import { marketKey } from '../core/market.ts';
import type { Keyspace } from '../infra/keys.ts';
import { Script } from './script.ts';

export type StoreOutcome = 'stored' | 'duplicate' | 'predecessor-missing' | 'stale';

/**
 * Stores a candle once. The series only grows forward: a candle waits (predecessor-missing) until
 * the previous one of its feed is stored, so a window never has a hole that fills in later.
 * Returns 1 stored, 0 duplicate, -1 predecessor missing, -2 older than the newest stored.
 */
const STORE = new Script(`
local last = redis.call('GET', KEYS[2])
local ts = tonumber(ARGV[1])
if #redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[1], 'BYSCORE', 'LIMIT', 0, 1) > 0 then return 0 end
if ARGV[3] ~= '' and (not last or tonumber(last) < tonumber(ARGV[3])) then return -1 end
if last and tonumber(last) > ts then return -2 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
local size = redis.call('ZCARD', KEYS[1])
if size > tonumber(ARGV[4]) then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, size - tonumber(ARGV[4]) - 1) end
return 1
`);

const OUTCOME: Record<number, StoreOutcome> = { 1: 'stored', 0: 'duplicate', [-1]: 'predecessor-missing', [-2]: 'stale' };

/** A bounded series of candles per market and timeframe, in a sorted set scored by open time. */
export class CandleStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    /** Most candles kept per series: the largest bot window plus room. */
    readonly cap: number,
  ) {}

  async store(symbol: string, timeframe: string, candle: Candle, prevTs: number | null): Promise<StoreOutcome> {
    const key = marketKey(symbol);
    const result = await STORE.run(
      this.redis,
      [this.keys.candles(key, timeframe), this.keys.candleLast(key, timeframe)],
      [candle.ts, encode(candle), prevTs === null ? '' : prevTs, this.cap],
    );
    return OUTCOME[Number(result)] ?? 'duplicate';
  }

  /** The last `size` candles with open time ≤ `uptoTs`, oldest first: never one after the decision time. */
  async window(symbol: string, timeframe: string, uptoTs: number, size: number): Promise<CandleWindow> {
    const members = (await this.redis.call(
      'ZRANGE',
      this.keys.candles(marketKey(symbol), timeframe),
      String(uptoTs),
      '-inf',
      'BYSCORE',
      'REV',
      'LIMIT',
      '0',
      String(size),
    )) as string[];
    return decodeWindow(members.reverse());
  }

  /** The first candle that opens after `ts`: where an order decided at `ts` can fill. */
  async nextAfter(symbol: string, timeframe: string, ts: number): Promise<Candle | undefined> {
    const [member] = (await this.redis.call(
      'ZRANGE',
      this.keys.candles(marketKey(symbol), timeframe),
      `(${ts}`,
      '+inf',
      'BYSCORE',
      'LIMIT',
      '0',
      '1',
    )) as string[];
    return member === undefined ? undefined : decode(member);
  }

  async latest(symbol: string, timeframe: string): Promise<Candle | undefined> {
    const [member] = await this.redis.zrange(this.keys.candles(marketKey(symbol), timeframe), -1, -1);
    return member === undefined ? undefined : decode(member);
  }
}

/** String(number) round-trips a double exactly, so a stored candle reads back bit for bit. */
function encode(c: Candle): string {
  return `${c.ts},${c.open},${c.high},${c.low},${c.close},${c.volume}`;
}

function decode(member: string): Candle {
  const [ts, open, high, low, close, volume] = member.split(',').map(Number) as [number, number, number, number, number, number];
  return { ts, open, high, low, close, volume };
}

function decodeWindow(members: string[]): CandleWindow {
  const n = members.length;
  const w: CandleWindow = {
    length: n,
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const c = decode(members[i]!);
    w.ts[i] = c.ts;
    w.open[i] = c.open;
    w.high[i] = c.high;
    w.low[i] = c.low;
    w.close[i] = c.close;
    w.volume[i] = c.volume;
  }
  return w;
}
