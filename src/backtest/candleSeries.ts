import type { Candle, CandleWindow } from '../core/candle.ts';

const COLUMNS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

/**
 * One market's candles as the backtest has seen them so far, in growable typed columns. Reads
 * answer exactly what the pipeline's Redis series answers (the last `n` candles up to a time),
 * but as copies: nothing a reader does to its window changes the series.
 */
export class CandleSeries {
  private columns: Record<(typeof COLUMNS)[number], Float64Array>;
  length = 0;

  constructor(capacity = 1024) {
    this.columns = Object.fromEntries(COLUMNS.map((c) => [c, new Float64Array(capacity)])) as CandleSeries['columns'];
  }

  append(candle: Candle): void {
    if (this.length > 0 && candle.ts <= this.columns.ts[this.length - 1]!) {
      throw new Error(`candle ${candle.ts} is not after the last one of the series (${this.columns.ts[this.length - 1]})`);
    }
    if (this.length === this.columns.ts.length) {
      for (const c of COLUMNS) {
        const grown = new Float64Array(this.length * 2);
        grown.set(this.columns[c]);
        this.columns[c] = grown;
      }
    }
    for (const c of COLUMNS) this.columns[c][this.length] = candle[c];
    this.length++;
  }

  /** Index of the last candle at or before `ts`, or -1. */
  private indexAtOrBefore(ts: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.columns.ts[mid]! <= ts) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The last `n` candles at or before `ts`, oldest first (a copy: its six columns in one buffer, one allocation, not six). */
  window(ts: number, n: number): CandleWindow {
    const end = this.indexAtOrBefore(ts) + 1;
    const start = Math.max(0, end - n);
    const length = end - start;
    const copy = new Float64Array(length * COLUMNS.length);
    const w = { length } as CandleWindow;
    for (let k = 0; k < COLUMNS.length; k++) {
      const column = copy.subarray(k * length, (k + 1) * length);
      column.set(this.columns[COLUMNS[k]!].subarray(start, end));
      w[COLUMNS[k]!] = column;
    }
    return w;
  }

  /**
   * The same candles as `window`, as views over the series' own columns: for the engine's own
   * readers (risk, track record), which only read, and never for a bot's code. A later append
   * leaves a view as it was (it only writes past the view's end, or grows into new columns).
   */
  view(ts: number, n: number): CandleWindow {
    const end = this.indexAtOrBefore(ts) + 1;
    const start = Math.max(0, end - n);
    const c = this.columns;
    return {
      length: end - start,
      ts: c.ts.subarray(start, end),
      open: c.open.subarray(start, end),
      high: c.high.subarray(start, end),
      low: c.low.subarray(start, end),
      close: c.close.subarray(start, end),
      volume: c.volume.subarray(start, end),
    };
  }

  /** Whether `w` still holds exactly the series' candles up to its last one (nobody wrote into it). */
  isIntact(w: CandleWindow): boolean {
    if (w.length === 0) return true;
    const end = this.indexAtOrBefore(w.ts[w.length - 1]!) + 1;
    const start = end - w.length;
    if (start < 0) return false;
    for (const c of COLUMNS) {
      const col = this.columns[c];
      const view = w[c];
      for (let i = 0; i < w.length; i++) if (view[i] !== col[start + i]) return false;
    }
    return true;
  }

  /** The first candle after `ts`, if seen. */
  nextAfter(ts: number): Candle | undefined {
    const i = this.indexAtOrBefore(ts) + 1;
    if (i >= this.length) return undefined;
    return this.at(i);
  }

  latest(): Candle | undefined {
    return this.length > 0 ? this.at(this.length - 1) : undefined;
  }

  private at(i: number): Candle {
    const c = this.columns;
    return { ts: c.ts[i]!, open: c.open[i]!, high: c.high[i]!, low: c.low[i]!, close: c.close[i]!, volume: c.volume[i]! };
  }
}
