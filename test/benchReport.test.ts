import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HEADLINE_KEYS, formatTable, meets, writeResults, type Headline } from '../bench/report.ts';
import { benchInstances, summarizeMs } from '../bench/pipeline.ts';

const dir = mkdtempSync(join(tmpdir(), 'quorum-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const headline: Headline = {
  pipeline_vs_raw_ratio: 0.31,
  decision_latency_p50_ms: 420,
  decision_latency_p99_ms: 910,
  fill_latency_p99_ms: null,
  analysis_worker_rss_mb: 140.2,
  backtest_evals_per_s: 4000,
  plain_loop_evals_per_s: 150_000,
  two_worker_scaling_ratio: 0.9,
};

describe('bench results', () => {
  it('writes every headline key at the top level of results.json, a figure not measured as null', () => {
    const path = join(dir, 'results.json');
    writeResults(path, { ...headline, raw: { jobsPerS: 1500 } });
    const written = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    for (const key of HEADLINE_KEYS) expect(written).toHaveProperty(key, headline[key]);
    expect(written.fill_latency_p99_ms).toBeNull();
  });

  it('refuses results that lack a headline key or carry a non-finite one, naming it', () => {
    const { two_worker_scaling_ratio: _, ...partial } = headline;
    expect(() => writeResults(join(dir, 'partial.json'), partial as Headline)).toThrow(/two_worker_scaling_ratio/);
    expect(() => writeResults(join(dir, 'nan.json'), { ...headline, pipeline_vs_raw_ratio: Number.NaN })).toThrow(/pipeline_vs_raw_ratio/);
  });

  it('prints each figure with its baseline and whether its target is met', () => {
    const table = formatTable([
      { figure: 'pipeline vs raw', value: '0.31x', baseline: 'raw 1500/s', target: '>= 0.6x', met: meets(0.31, '>=', 0.6) },
      { figure: 'p99 decision', value: '30 ms', baseline: '-', target: '< 50 ms', met: meets(30, '<', 50) },
      { figure: 'fills', value: 'n/a', baseline: '-', target: '-', met: meets(null, '<', 50) },
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^\| pipeline vs raw .*\| raw 1500\/s .*\| NOT met \|$/);
    expect(lines[3]).toMatch(/\| met +\|$/);
    expect(lines[4]).toMatch(/\| - +\|$/);
  });

  it('takes p50 and p99 as nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(summarizeMs(values)).toEqual({ n: 100, p50: 50, p99: 99, max: 100 });
    expect(summarizeMs([])).toEqual({ n: 0, p50: null, p99: null, max: null });
  });

  it('benchmarks 200 distinct instances of bundled bots', () => {
    const instances = benchInstances();
    expect(instances).toHaveLength(200);
    expect(new Set(instances.map((i) => i.id)).size).toBe(200);
  });
});
