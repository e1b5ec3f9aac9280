/**
 * The bench's results file and table: the headline figures (flat keys that scripts and the README
 * read), each beside the baseline measured in the same run and its target.
 */
import { writeFileSync } from 'node:fs';

/** The figures issue 8 asks for; null when a run could not measure one (e.g. no order was filled). */
export const HEADLINE_KEYS = [
  'pipeline_vs_raw_ratio',
  'decision_latency_p50_ms',
  'decision_latency_p99_ms',
  'fill_latency_p99_ms',
  'analysis_worker_rss_mb',
  'backtest_evals_per_s',
  'plain_loop_evals_per_s',
  'two_worker_scaling_ratio',
] as const;

export type Headline = Record<(typeof HEADLINE_KEYS)[number], number | null>;

export interface TableRow {
  figure: string;
  value: string;
  baseline: string;
  target: string;
  /** null: no target, or nothing measured. */
  met: boolean | null;
}

/** Writes the results; refuses a results object that lacks a headline key (a bench bug, not a slow machine). */
export function writeResults(path: URL | string, results: Headline & Record<string, unknown>): void {
  const missing = HEADLINE_KEYS.filter((k) => !(k in results) || (results[k] !== null && !Number.isFinite(results[k])));
  if (missing.length > 0) throw new Error(`bench results lack or have a non-finite ${missing.join(', ')}`);
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** A Markdown table (it reads as well in a terminal as in the README). */
export function formatTable(rows: readonly TableRow[]): string {
  const cells = [['figure', 'measured', 'baseline (same run)', 'target', 'met'], ...rows.map((r) => [r.figure, r.value, r.baseline, r.target, r.met === null ? '-' : r.met ? 'met' : 'NOT met'])];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** Whether `value` meets `limit` in the direction given; null when nothing was measured. */
export function meets(value: number | null, direction: '>=' | '<' | '<=', limit: number): boolean | null {
  if (value === null) return null;
  return direction === '>=' ? value >= limit : direction === '<' ? value < limit : value <= limit;
}
