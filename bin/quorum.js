#!/usr/bin/env node
// Runs the TypeScript CLI as plain JavaScript: compiled once by esbuild into node_modules/.cache
// (keyed by a hash of every source file, so an edit recompiles in well under a second) and then
// imported. Running through a TypeScript loader instead would cost each process tens of MB for
// the loader's own thread and compiler (see src/infra/compile.ts and `npm run bench`).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// A small young generation: these processes keep little long-lived data, and the default
// semi-spaces cost resident memory for no measurable speed here.
setFlagsFromString('--max-semi-space-size=2');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.ts') && !/\.(test|spec)\.ts$/.test(entry.name)) sources.push(path);
  }
};
for (const dir of ['src', 'processors', 'queues']) walk(join(root, dir));
const hash = createHash('sha256');
for (const file of sources.sort()) hash.update(file).update(readFileSync(file));
// A folder of chunks: modules only some commands need (the HTTP server with express, Bull Board and
// prom-client) are split out and loaded by those commands alone, so a worker does not carry them.
const outDir = join(root, 'node_modules', '.cache', 'quorum', 'cli', hash.digest('hex').slice(0, 20));
const out = join(outDir, 'main.js');

if (!existsSync(out)) {
  const { build } = await import('esbuild');
  mkdirSync(dirname(outDir), { recursive: true });
  const tmp = `${outDir}.${process.pid}.tmp`;
  try {
    await build({
      entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      keepNames: true,
      sourcemap: 'inline',
      logLevel: 'error',
    });
    try {
      renameSync(tmp, outDir);
    } catch (error) {
      // Another process compiled the same sources first: use theirs.
      if (!existsSync(out)) throw error;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    process.stderr.write(`quorum: the CLI does not compile: ${error.message}\n`);
    process.exit(1);
  }
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(out).href);
