import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';

export interface Exposition {
  /** Families as parse-prometheus-text-format reads them (names, HELP, TYPE). */
  families: Map<string, PromFamily>;
  /** Every sample line: name (with its _bucket/_sum/_count suffix), labels, value. */
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses a Prometheus exposition with parse-prometheus-text-format (it throws on malformed text)
 * and checks every family has HELP and TYPE. That parser folds labelled histogram samples away
 * (it keeps only unlabelled ones), so the samples are also read line by line, strictly.
 */
export function parseMetrics(text: string): Exposition {
  const families = new Map<string, PromFamily>();
  for (const f of parsePrometheusTextFormat(text)) {
    if (families.has(f.name)) throw new Error(`metric family ${f.name} appears twice`);
    if (!text.includes(`# TYPE ${f.name} `) || !text.includes(`# HELP ${f.name} `)) throw new Error(`metric family ${f.name} lacks HELP or TYPE`);
    families.set(f.name, f);
  }
  const samples: Exposition['samples'] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!;
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { families, samples };
}

/** The value of the one sample called `name` whose labels include `labels`. */
export function sample(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} with ${JSON.stringify(labels)}`);
  return found[0]!.value;
}
