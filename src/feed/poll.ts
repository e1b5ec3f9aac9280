import { validateCandle, type Candle, type CandleRejection } from '../core/candle.ts';

export interface PolledTick {
  candle: Candle;
  /** Open time of the series' previous accepted candle (null for the first ever). */
  prevTs: number | null;
}

export interface PolledCandles {
  ticks: PolledTick[];
  rejected: { reason: CandleRejection | 'malformed-row'; detail: string }[];
  /** Open time of the newest accepted candle (the next poll asks from there). */
  lastTs: number | null;
}

/**
 * The closed, valid candles in a ccxt OHLCV answer that come after `lastTs`: a candle still open
 * at `now` (its close time, ts + timeframe, not reached) is left for a later poll, and one seen
 * before is skipped (exchanges repeat the last candles). Each is checked by the same rules as a
 * CSV row; a bad one is reported with its reason and never emitted.
 */
export function closedCandlesAfter(rows: readonly unknown[], lastTs: number | null, tfMs: number, now: number): PolledCandles {
  const ticks: PolledTick[] = [];
  const rejected: PolledCandles['rejected'] = [];
  let prev = lastTs;
  for (const row of rows) {
    if (!Array.isArray(row) || row.length < 6) {
      rejected.push({ reason: 'malformed-row', detail: `expected [ts, open, high, low, close, volume], got ${JSON.stringify(row)?.slice(0, 200)}` });
      continue;
    }
    const [ts, open, high, low, close, volume] = row.map((v) => (typeof v === 'string' ? Number(v) : v)) as number[];
    const candle: Candle = { ts: ts!, open: open!, high: high!, low: low!, close: close!, volume: volume! };
    if (typeof candle.ts === 'number' && prev !== null && candle.ts <= prev) continue;
    if (typeof candle.ts === 'number' && candle.ts + tfMs > now) continue;
    const verdict = validateCandle(candle, tfMs, prev ?? undefined);
    if (!verdict.ok) {
      rejected.push({ reason: verdict.reason, detail: verdict.detail });
      continue;
    }
    ticks.push({ candle, prevTs: prev });
    prev = candle.ts;
  }
  return { ticks, rejected, lastTs: prev };
}
