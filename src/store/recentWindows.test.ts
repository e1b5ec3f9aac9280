import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Candle, CandleWindow } from '../core/candle.ts';
import { keyspace } from '../infra/keys.ts';
import { createRedis, deleteDeploymentKeys } from '../infra/redis.ts';
import { CandleStore } from './candleStore.ts';
import { RecentWindows } from './recentWindows.ts';

const redis = createRedis(inject('redisUrl'));
const prefix = `t-windows-${randomBytes(4).toString('hex')}`;
const store = new CandleStore(redis, keyspace(prefix), 500);
const STEP = 300_000;
afterAll(async () => {
  await deleteDeploymentKeys(redis, prefix);
  await redis.quit();
});

const candle = (i: number): Candle => ({ ts: i * STEP, open: 1 + i, high: 2 + i, low: 0.5 + i, close: 1.5 + i, volume: 10 + i });
async function fill(symbol: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await store.store(symbol, '5m', candle(i), i === 0 ? null : (i - 1) * STEP);
}
const plain = (w: CandleWindow) => ({ length: w.length, ts: [...w.ts], close: [...w.close], volume: [...w.volume] });

/** Counts the reads that reach Redis. */
function counted(): { windows: RecentWindows; reads: () => number } {
  let reads = 0;
  const windows = new RecentWindows({
    window: (...args) => {
      reads++;
      return store.window(...args);
    },
    latest: (...args) => store.latest(...args),
  });
  return { windows, reads: () => reads };
}

describe('recent windows', () => {
  it('serves every size up to the largest read from one Redis read, equal to a direct read', async () => {
    await fill('AAA/BTC', 0, 300);
    const { windows, reads } = counted();
    const upto = 300 * STEP;
    expect(plain(await windows.window('AAA/BTC', '5m', upto, 250))).toEqual(plain(await store.window('AAA/BTC', '5m', upto, 250)));
    for (const size of [1, 33, 100, 250]) expect(plain(await windows.window('AAA/BTC', '5m', upto, size))).toEqual(plain(await store.window('AAA/BTC', '5m', upto, size)));
    expect(reads()).toBe(1);
    // A larger window than any read so far goes to Redis again; an earlier candle is its own window.
    expect((await windows.window('AAA/BTC', '5m', upto, 280)).length).toBe(280);
    expect((await windows.window('AAA/BTC', '5m', upto - STEP, 10)).ts.at(-1)).toBe(upto - STEP);
    expect(reads()).toBe(3);
  });

  it('reads each candle once at the largest size asked of its series, however many callers ask at once', async () => {
    const { windows, reads } = counted();
    const sizes = Array.from({ length: 20 }, (_, k) => 20 + k);
    await Promise.all(sizes.map((size) => windows.window('AAA/BTC', '5m', 200 * STEP, size)));
    const first = reads();
    const next = await Promise.all(sizes.map((size) => windows.window('AAA/BTC', '5m', 201 * STEP, size)));
    expect(next.map((w) => [w.length, w.ts.at(-1)])).toEqual(sizes.map((size) => [size, 201 * STEP]));
    expect(reads()).toBe(first + 1);
  });

  it('never keeps a window that does not end on the candle asked for: it may still grow', async () => {
    await fill('BBB/BTC', 0, 50);
    const { windows, reads } = counted();
    // Another market asked up to a time it has not reached yet.
    expect((await windows.window('BBB/BTC', '5m', 52 * STEP, 20)).ts.at(-1)).toBe(50 * STEP);
    await fill('BBB/BTC', 51, 52);
    expect((await windows.window('BBB/BTC', '5m', 52 * STEP, 20)).ts.at(-1)).toBe(52 * STEP);
    expect(reads()).toBe(2);
  });
});
