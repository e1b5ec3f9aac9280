import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/**
 * The standalone build of TradingView Lightweight Charts (it defines window.LightweightCharts),
 * read from node_modules so that the report can inline it and open offline from disk. The
 * package exports only its ES modules and package.json, so the file is found next to the latter.
 */
export function chartLibrarySource(): string {
  if (cached !== undefined) return cached;
  const pkg = createRequire(import.meta.url).resolve('lightweight-charts/package.json');
  const file = join(dirname(pkg), 'dist', 'lightweight-charts.standalone.production.js');
  const source = readFileSync(file, 'utf8');
  // Inlined in a <script> element, these sequences would end or alter the element early.
  if (/<\/script|<!--/i.test(source)) throw new Error(`${file} contains "</script" or "<!--" and cannot be inlined in the report`);
  cached = source;
  return source;
}
