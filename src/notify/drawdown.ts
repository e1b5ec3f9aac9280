import type { Priority } from './priority.ts';

/** How many of the (ascending) thresholds the drawdown has reached: 0 = none. */
export function drawdownLevel(drawdown: number, thresholds: readonly number[]): number {
  if (!Number.isFinite(drawdown)) return 0;
  return [...thresholds].sort((a, b) => a - b).filter((t) => drawdown >= t).length;
}

export interface DrawdownAlert {
  event: 'drawdown.crossed' | 'drawdown.recovered';
  priority: Priority;
  title: string;
  body: string;
  dedupeKey: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * What a new drawdown reading says given the level last alerted: crossing one or more thresholds
 * up is one alert naming the highest (critical once entries halt at `maxDrawdown`, else a
 * warning); falling back below a threshold is an info. The same level again says nothing.
 */
export function drawdownAlert(quote: string, previousLevel: number, drawdown: number, thresholds: readonly number[], maxDrawdown: number): { level: number; alert?: DrawdownAlert } {
  const sorted = [...thresholds].sort((a, b) => a - b);
  const level = drawdownLevel(drawdown, sorted);
  if (level > previousLevel) {
    const crossed = sorted[level - 1]!;
    const halted = drawdown >= maxDrawdown;
    return {
      level,
      alert: {
        event: 'drawdown.crossed',
        priority: halted ? 'critical' : 'warning',
        title: `${quote} drawdown ${pct(drawdown)} crossed ${pct(crossed)}`,
        body: halted ? `At or past risk.maxDrawdown (${pct(maxDrawdown)}): new entries are halted until equity recovers.` : `Entries shrink with drawdown and halt at ${pct(maxDrawdown)}.`,
        dedupeKey: `${quote}:${level}`,
      },
    };
  }
  if (level < previousLevel) {
    return {
      level,
      alert: {
        event: 'drawdown.recovered',
        priority: 'info',
        title: `${quote} drawdown back to ${pct(drawdown)}${level === 0 ? '' : ` (below ${pct(sorted[level]!)})`}`,
        body: level === 0 ? `Below every alert threshold (${sorted.map(pct).join(', ')}).` : `Still past ${pct(sorted[level - 1]!)}.`,
        dedupeKey: `${quote}:down:${level}`,
      },
    };
  }
  return { level };
}
