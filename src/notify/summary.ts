/** What the daily summary reports, read by the monitor and rendered here. */
export interface DailySummaryInput {
  /** The UTC day summarised, YYYY-MM-DD. */
  day: string;
  account: string;
  tradingState: string;
  breaker: string;
  quotes: { quote: string; equity: string; previousEquity?: string | undefined; drawdown: number | null; openPositions: number }[];
  /** Counter increases since the previous summary (decisions, orders, fills, denials...). */
  activity: Record<string, number>;
  workersLost: string[];
}

function change(now: string, before: string | undefined): string {
  if (before === undefined) return '';
  const a = Number(now);
  const b = Number(before);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '';
  const d = a - b;
  return ` (${d >= 0 ? '+' : ''}${Number(d.toPrecision(8))}, ${d >= 0 ? '+' : ''}${((d / b) * 100).toFixed(2)}%)`;
}

/** The daily summary as a person reads it. */
export function renderDailySummary(s: DailySummaryInput): { title: string; body: string } {
  const lines: string[] = [];
  for (const q of s.quotes) {
    const dd = q.drawdown === null ? '' : `, drawdown ${(q.drawdown * 100).toFixed(1)}%`;
    lines.push(`equity ${q.quote}: ${q.equity}${change(q.equity, q.previousEquity)}${dd}, ${q.openPositions} open position${q.openPositions === 1 ? '' : 's'}`);
  }
  const a = (k: string) => s.activity[k] ?? 0;
  lines.push(`decisions ${a('decisions')} (buy ${a('decisions.buy')}, sell ${a('decisions.sell')}); orders ${a('orders')}, filled ${a('orders.filled')}, cancelled ${a('orders.cancelled')}, rejected ${a('orders.rejected')}; fills ${a('fills')}`);
  const denials = Object.entries(s.activity)
    .filter(([k, v]) => k.startsWith('denials.') && v > 0)
    .map(([k, v]) => `${k.slice('denials.'.length)} ${v}`);
  if (denials.length > 0) lines.push(`denials: ${denials.join(', ')}`);
  lines.push(`trading ${s.tradingState}; breaker ${s.breaker}`);
  if (s.workersLost.length > 0) lines.push(`no worker serving: ${s.workersLost.join(', ')}`);
  return { title: `Quorum daily summary ${s.day} (${s.account})`, body: lines.join('\n') };
}

/** How much each counter grew since the previous snapshot (a counter that was reset counts from zero). */
export function counterIncrease(now: Record<string, number>, before: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(now).map(([k, v]) => {
      const b = before?.[k] ?? 0;
      return [k, v >= b ? v - b : v];
    }),
  );
}
