import { sliceWindow, type CandleWindow } from '../core/candle.ts';
import type { CandleStore } from './candleStore.ts';

/** Windows are kept this long at most: a deployment's keys can be deleted (`--fresh`) under a running worker. */
const MAX_AGE_MS = 10_000;
/** A few markets' current candles; each entry is one window of at most the series cap. */
const MAX_ENTRIES = 32;

interface Entry {
  size: number;
  at: number;
  window: Promise<CandleWindow>;
}

/**
 * Candle windows this process read moments ago. Every instance of a market analyses the same
 * candle at once (200 jobs, one window each); a series only grows forward, so a window that ends
 * on a stored candle never changes, and one Redis read serves them all (the rest is each
 * instance's tail of it). A window that does not end on the candle asked for (another market's,
 * still behind) may still grow and is never kept.
 */
export class RecentWindows {
  private readonly entries = new Map<string, Entry>();
  /** The largest window asked of each series so far: read at that size, it serves every instance. */
  private readonly largest = new Map<string, number>();

  constructor(
    private readonly store: Pick<CandleStore, 'window' | 'latest'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The last `size` candles with open time ≤ `uptoTs`, oldest first (CandleStore.window); shared, never to be written to. */
  async window(symbol: string, timeframe: string, uptoTs: number, size: number): Promise<CandleWindow> {
    const series = `${symbol}\u0000${timeframe}`;
    const key = `${series}\u0000${uptoTs}`;
    const readSize = Math.max(size, this.largest.get(series) ?? 0);
    this.largest.set(series, readSize);
    const now = this.now();
    let entry = this.entries.get(key);
    if (entry && (entry.size < size || now - entry.at > MAX_AGE_MS)) entry = undefined;
    if (!entry) {
      entry = { size: readSize, at: now, window: this.store.window(symbol, timeframe, uptoTs, readSize) };
      this.remember(key, entry);
      entry.window.then(
        (w) => {
          if (w.length === 0 || w.ts[w.length - 1] !== uptoTs) this.forget(key, entry!);
        },
        () => this.forget(key, entry!),
      );
    }
    return tail(await entry.window, size);
  }

  latest(symbol: string, timeframe: string): ReturnType<CandleStore['latest']> {
    return this.store.latest(symbol, timeframe);
  }

  private remember(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    // Oldest first in a Map: drop from the front.
    for (const old of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(old);
    }
  }

  private forget(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}

/** The last `size` candles of `w`, as views of its arrays (no copy). */
function tail(w: CandleWindow, size: number): CandleWindow {
  return w.length <= size ? w : sliceWindow(w, w.length - size, w.length);
}
