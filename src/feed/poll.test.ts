import { describe, expect, it } from 'vitest';
import { closedCandlesAfter } from './poll.ts';

const TF = 300_000;
const T0 = 1_700_000_100_000 - (1_700_000_100_000 % TF);
const row = (i: number, over: Partial<Record<'o' | 'h' | 'l' | 'c' | 'v', number>> = {}) => [T0 + i * TF, over.o ?? 10, over.h ?? 11, over.l ?? 9, over.c ?? 10.5, over.v ?? 100];

describe('closedCandlesAfter', () => {
  it('keeps the closed candles after the last one seen, chained by their previous open time', () => {
    const out = closedCandlesAfter([row(0), row(1), row(2), row(3)], T0, TF, T0 + 3 * TF + 1000);
    // row 0 was seen; row 3 is still open (it closes at T0 + 4 TF).
    expect(out.ticks.map((t) => [t.candle.ts, t.prevTs])).toEqual([
      [T0 + TF, T0],
      [T0 + 2 * TF, T0 + TF],
    ]);
    expect(out.lastTs).toBe(T0 + 2 * TF);
    expect(out.rejected).toEqual([]);
  });

  it('takes a candle the moment its close time is reached', () => {
    expect(closedCandlesAfter([row(0)], null, TF, T0 + TF).ticks).toHaveLength(1);
    expect(closedCandlesAfter([row(0)], null, TF, T0 + TF - 1).ticks).toHaveLength(0);
  });

  it('rejects bad candles with their reason and keeps the good ones around them', () => {
    const out = closedCandlesAfter([row(0), row(1, { h: 5 }), [T0 + 2 * TF, 'x'], row(3, { o: -1 }), row(4)], null, TF, T0 + 10 * TF);
    expect(out.ticks.map((t) => t.candle.ts)).toEqual([T0, T0 + 4 * TF]);
    expect(out.ticks[1]!.prevTs).toBe(T0);
    expect(out.rejected.map((r) => r.reason)).toEqual(['high-below-body', 'malformed-row', 'non-positive-price']);
  });

  it('reads numbers the exchange sent as strings', () => {
    const out = closedCandlesAfter([[String(T0), '10', '11', '9', '10.5', '100']], null, TF, T0 + TF);
    expect(out.ticks[0]!.candle).toEqual({ ts: T0, open: 10, high: 11, low: 9, close: 10.5, volume: 100 });
  });
});
