import { createHash } from 'node:crypto';
import type { Candle } from '../core/candle.ts';
import type { EquityPoint, PerformanceMetrics, PerformanceReport } from '../core/performance.ts';
import type { Trade } from '../core/roundTrips.ts';
import { chartLibrarySource } from './chartLibrary.ts';
import { escapeHtml as esc, jsonForScript } from './html.ts';
import { CHART_COLORS, REPORT_CSS, REPORT_SCRIPT } from './reportPage.ts';
import { underwater } from './underwater.ts';

export interface ReportHtmlInput {
  title: string;
  report: PerformanceReport;
  /** The configuration the run used (secrets already masked): shown as JSON at the end. */
  config: unknown;
  /** Candles per market symbol, oldest first: the price charts. */
  prices: Readonly<Record<string, readonly Candle[]>>;
}

interface Point { time: number; value: number }
interface Marker { time: number; kind: 'entry' | 'exit'; text: string }

/** Chart times are whole UTC seconds, strictly increasing: a later point in the same second replaces an earlier one. */
function timeSeries<T>(items: readonly T[], tsOf: (x: T) => number, valueOf: (x: T) => number): Point[] {
  const out: Point[] = [];
  for (const x of [...items].sort((a, b) => tsOf(a) - tsOf(b))) {
    const time = Math.floor(tsOf(x) / 1000);
    const point = { time, value: valueOf(x) };
    if (out.length > 0 && out[out.length - 1]!.time === time) out[out.length - 1] = point;
    else out.push(point);
  }
  return out;
}

/** Decimals that show about five significant digits of the largest value (0.0984 → 6, 1.02 → 4), between 2 and 10. */
export function displayPrecision(values: Iterable<number>): number {
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  if (max === 0) return 2;
  return Math.min(10, Math.max(2, 4 - Math.floor(Math.log10(max))));
}

/** The open time of the candle a timestamp falls in (the last candle at or before it), or undefined before the first. */
function candleTimeAt(candles: readonly Candle[], ts: number): number | undefined {
  let lo = 0;
  let hi = candles.length - 1;
  let found: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (candles[mid]!.ts <= ts) { found = candles[mid]!.ts; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

/** Entry and exit markers of a market's trades on its candles (sorted oldest first), in time order. */
export function tradeMarkers(candles: readonly Candle[], trades: readonly Trade[]): Marker[] {
  const markers: Marker[] = [];
  for (const t of trades) {
    const entry = candleTimeAt(candles, t.entryTs);
    if (entry !== undefined) markers.push({ time: entry / 1000, kind: 'entry', text: 'buy' });
    const exit = t.exitTs === null ? undefined : candleTimeAt(candles, t.exitTs);
    if (exit !== undefined) markers.push({ time: exit / 1000, kind: 'exit', text: t.exitReason ?? 'exit' });
  }
  return markers.sort((a, b) => a.time - b.time);
}

// ---- formatting (every value passes through esc before it reaches the page) ----

const DASH = '—';
const pct = (x: number | null): string => (x === null ? DASH : `${(x * 100).toFixed(2)} %`);
const ratio = (x: number | null): string => (x === null ? DASH : x.toFixed(2));
const time = (ts: number | null): string => (ts === null ? DASH : new Date(ts).toISOString().slice(0, 16).replace('T', ' '));
const text = (s: string | null | undefined): string => (s === null || s === undefined || s === '' ? DASH : s);

function duration(ms: number): string {
  if (ms <= 0) return DASH;
  const minutes = Math.round(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d ? `${d}d` : '', h ? `${h}h` : '', m || (!d && !h) ? `${m}m` : ''].filter(Boolean).join(' ');
}

/** A cell with a sign colour, for money and returns. */
function signed(value: string, sign: number): string {
  const cls = sign > 0 ? ' class="pos"' : sign < 0 ? ' class="neg"' : '';
  return `<td${cls}>${esc(value)}</td>`;
}
const signOf = (s: string | null): number => (s === null ? 0 : s.startsWith('-') ? -1 : /[1-9]/.test(s) ? 1 : 0);
const moneyCell = (s: string | null): string => signed(text(s), signOf(s));
const cell = (s: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${esc(s)}</td>`;
const headerRow = (labels: readonly string[]): string => `<tr>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr>`;

function table(head: readonly string[], rows: readonly string[], empty: string): string {
  if (rows.length === 0) return `<p class="meta">${esc(empty)}</p>`;
  return `<div class="scroll"><table><thead>${headerRow(head)}</thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table></div>`;
}

const METRIC_ROWS: ReadonlyArray<[string, (m: PerformanceMetrics) => string]> = [
  ['From', (m) => `${time(m.from)} UTC`],
  ['To', (m) => `${time(m.to)} UTC`],
  ['Start equity', (m) => (m.startEquity === null ? DASH : String(m.startEquity))],
  ['End equity', (m) => (m.endEquity === null ? DASH : String(m.endEquity))],
  ['Total return', (m) => pct(m.totalReturn)],
  ['Annualised return', (m) => pct(m.annualizedReturn)],
  ['Sharpe', (m) => ratio(m.sharpe)],
  ['Sortino', (m) => ratio(m.sortino)],
  ['Calmar', (m) => ratio(m.calmar)],
  ['Max drawdown', (m) => pct(m.maxDrawdown.depth)],
  ['Max drawdown peak → trough', (m) => (m.maxDrawdown.peakTs === null ? DASH : `${time(m.maxDrawdown.peakTs)} → ${time(m.maxDrawdown.troughTs)}`)],
  ['Longest time under water', (m) => duration(m.maxDrawdown.durationMs)],
  ['Trades (closed)', (m) => `${m.trades} (${m.closedTrades})`],
  ['Wins / losses', (m) => `${m.wins} / ${m.losses}`],
  ['Win rate', (m) => pct(m.winRate)],
  ['Profit factor', (m) => ratio(m.profitFactor)],
  ['Expectancy', (m) => text(m.expectancy)],
  ['Average win', (m) => text(m.averageWin)],
  ['Average loss', (m) => text(m.averageLoss)],
  ['Exposure time', (m) => pct(m.exposureTime)],
  ['Fees paid', (m) => m.feesPaid],
  ['Realised P&L', (m) => m.realizedPnl],
];

function metricsTable(metrics: readonly PerformanceMetrics[]): string {
  const rows = METRIC_ROWS.map(([label, f]) => `${cell(label)}${metrics.map((m) => cell(f(m))).join('')}`);
  return table(['Metric', ...metrics.map((m) => m.currency)], rows, 'No metrics: the run produced no equity curve.');
}

function instancesTable(report: PerformanceReport, currencies: readonly string[]): string {
  const rows = report.instances.map((a) =>
    cell(a.instanceId, 'text') + cell(String(a.votes)) + cell(String(a.buys)) + cell(String(a.sells)) + cell(String(a.scored))
    + cell(pct(a.hitRate)) + cell(String(a.trades)) + currencies.map((c) => moneyCell(a.pnl[c] ?? null)).join(''));
  return table(['Instance', 'Votes', 'Buys', 'Sells', 'Scored', 'Hit rate', 'Trades', ...currencies.map((c) => `P&L (${c})`)], rows, 'No bot instance voted.');
}

function marketsTable(report: PerformanceReport): string {
  const rows = report.markets.map((m) =>
    cell(m.symbol, 'text') + cell(String(m.trades)) + cell(String(m.closedTrades)) + cell(String(m.wins)) + cell(pct(m.winRate))
    + moneyCell(m.pnl) + cell(m.fees) + cell(pct(m.exposureTime)) + cell(m.quote));
  return table(['Market', 'Trades', 'Closed', 'Wins', 'Win rate', 'P&L', 'Fees', 'Exposure', 'Currency'], rows, 'No trades.');
}

function tradesTable(trades: readonly Trade[]): string {
  const rows = trades.map((t, i) =>
    cell(String(i + 1)) + cell(t.symbol, 'text') + cell(t.status, 'text') + cell(time(t.entryTs)) + cell(t.entryPrice) + cell(t.quantity)
    + cell(time(t.exitTs)) + cell(text(t.exitPrice)) + cell(t.fees) + moneyCell(t.pnl) + signed(pct(t.returnPct), Math.sign(t.returnPct))
    + cell(text(t.status === 'open' ? 'open (marked)' : t.exitReason), 'text')
    + cell(t.voters.map((v) => `${v.instanceId} ${(v.share * 100).toFixed(0)}%`).join(', ') || DASH, 'text')
    + cell(t.id, 'text'));
  return table(['#', 'Market', 'Status', 'Entry (UTC)', 'Entry price', 'Quantity', 'Exit (UTC)', 'Exit price', 'Fees', 'P&L', 'Return', 'Exit reason', 'Voters', 'Order id'], rows, 'No trades.');
}

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * report.html: one self-contained file (the chart library, data and code inline) that works
 * opened from disk with no network. Tables are rendered here, escaped; charts are drawn in the
 * browser from JSON embedded in a non-executable script element. A Content-Security-Policy
 * allows only the two inline scripts (by hash), so even text that slipped through escaping
 * could not run.
 */
export function renderReportHtml(input: ReportHtmlInput): string {
  const { report } = input;
  const currencies = [...new Set([...report.metrics.map((m) => m.currency), ...Object.keys(report.equity)])].sort();
  const equityCharts = currencies.map((currency, i) => {
    const curve: readonly EquityPoint[] = report.equity[currency] ?? [];
    return {
      currency,
      equityId: `equity-${i}`,
      drawdownId: `drawdown-${i}`,
      precision: displayPrecision(curve.map((p) => p.equity)),
      equity: timeSeries(curve, (p) => p.ts, (p) => p.equity),
      drawdown: timeSeries(underwater(curve), (p) => p.ts, (p) => -p.drawdown * 100),
    };
  });
  const symbols = [...new Set([...Object.keys(input.prices), ...report.trades.map((t) => t.symbol)])].sort();
  const marketCharts = symbols.flatMap((symbol, i) => {
    const candles = [...(input.prices[symbol] ?? [])].sort((a, b) => a.ts - b.ts);
    if (candles.length === 0) return [];
    return [{
      symbol,
      id: `price-${i}`,
      precision: displayPrecision(candles.map((c) => c.high)),
      candles: dedupeCandles(candles),
      markers: tradeMarkers(candles, report.trades.filter((t) => t.symbol === symbol)),
    }];
  });
  const data = jsonForScript({ colors: CHART_COLORS, equity: equityCharts, markets: marketCharts });

  const library = chartLibrarySource();
  const csp = `default-src 'none'; script-src ${sha256(library)} ${sha256(REPORT_SCRIPT)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const configJson = JSON.stringify(input.config ?? null, null, 2) ?? 'null';
  const closed = report.trades.filter((t) => t.status === 'closed').length;

  const equitySections = equityCharts.map((e) => `
<h3>${esc(e.currency)}</h3>
<div class="chart" id="${e.equityId}" data-chart="equity" data-label="${esc(e.currency)}"></div>
<p class="meta">Drawdown from the running peak (%)</p>
<div class="chart short" id="${e.drawdownId}" data-chart="drawdown" data-label="${esc(e.currency)}"></div>`).join('');
  const marketSections = symbols.map((symbol) => {
    const m = marketCharts.find((c) => c.symbol === symbol);
    return m
      ? `\n<h3>${esc(symbol)}</h3>\n<div class="chart" id="${m.id}" data-chart="price" data-label="${esc(symbol)}" data-markers="${m.markers.length}"></div>`
      : `\n<h3>${esc(symbol)}</h3>\n<p class="meta">No candles were given for this market.</p>`;
  }).join('');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<h1>${esc(input.title)}</h1>
<p class="meta">Generated ${esc(time(report.generatedAt))} UTC · ${esc(String(report.trades.length))} trades (${esc(String(closed))} closed) · ${esc(String(symbols.length))} markets · charts by <a href="https://www.tradingview.com/lightweight-charts/">TradingView Lightweight Charts</a></p>

<h2>Equity</h2>${equitySections || '\n<p class="meta">No equity curve.</p>'}

<h2>Metrics</h2>
${metricsTable(report.metrics)}

<h2>Markets</h2>${marketSections || '\n<p class="meta">No markets.</p>'}
${marketsTable(report)}

<h2>Bot instances</h2>
<p class="meta">Votes are buy and sell votes; hit rate is the share of scored votes the market's later move agreed with; P&amp;L is each trade's P&amp;L shared among the instances that voted for its entry.</p>
${instancesTable(report, currencies)}

<h2>Trades</h2>
${tradesTable(report.trades)}

<h2>Configuration</h2>
<pre>${esc(configJson)}</pre>

<script type="application/json" id="report-data">${data}</script>
<script>${library}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}

/** Candles (sorted) for the chart: whole seconds, one per time (the first of a repeated time is kept, as the feed does). */
function dedupeCandles(candles: readonly Candle[]): Array<{ time: number; open: number; high: number; low: number; close: number }> {
  const out: Array<{ time: number; open: number; high: number; low: number; close: number }> = [];
  for (const c of candles) {
    const t = Math.floor(c.ts / 1000);
    if (out.length > 0 && out[out.length - 1]!.time === t) continue;
    out.push({ time: t, open: c.open, high: c.high, low: c.low, close: c.close });
  }
  return out;
}
