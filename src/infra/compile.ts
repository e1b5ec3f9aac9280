import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message } from 'esbuild';

/**
 * TypeScript to plain ES modules, once, cached by content. Processes and bot threads then run
 * JavaScript without a TypeScript loader: a loader costs every process and thread its own hooks
 * thread and compiler, tens of MB of resident memory apiece (measured by `npm run bench`).
 */

/** The folder holding package.json above this file, whether run from source or from a compiled copy. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('could not find the project root (no package.json above the code)');
    dir = up;
  }
  return dir;
}

let coreDigestOnce: string | undefined;

/** A digest of every source file in src/core, read once per process. */
function coreDigest(): string {
  if (coreDigestOnce === undefined) {
    const dir = join(projectRoot(), 'src', 'core');
    const hash = createHash('sha256');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts')).sort()) hash.update(name).update(readFileSync(join(dir, name)));
    coreDigestOnce = hash.digest('hex');
  }
  return coreDigestOnce;
}

export class CompileError extends Error {
  override readonly name = 'CompileError';
}

/**
 * Bundles one TypeScript entry with the project code it imports (packages stay imports, resolved
 * from the project's node_modules) into node_modules/.cache/quorum/<group>/<hash>.mjs, where the
 * hash covers the entry's path, the contents of `inputs` (default: just the entry) and of src/core
 * (the only project code that bots and bot threads may import, and which is bundled into them).
 * Returns the output file; a syntax or import error is a CompileError that names file, line and column.
 */
export async function compileModule(group: string, entry: string, inputs: readonly string[] = [entry]): Promise<string> {
  const hash = createHash('sha256').update(entry).update(coreDigest());
  for (const f of inputs) hash.update(f).update(readFileSync(f));
  const out = join(projectRoot(), 'node_modules', '.cache', 'quorum', group, `${hash.digest('hex').slice(0, 20)}.mjs`);
  if (existsSync(out)) return out;
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    // Loaded here, not at start: most processes find their modules compiled already.
    const { build } = await import('esbuild');
    await build({
      entryPoints: [entry],
      outfile: tmp,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      // Keep names and lines readable in stack traces of bot errors.
      keepNames: true,
      sourcemap: 'inline',
    });
  } catch (error) {
    await rm(tmp, { force: true });
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const where = (m: Message) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '');
    throw new CompileError(errors.length > 0 ? errors.map((m) => `${where(m)}${m.text}`).join('; ') : (error as Error).message);
  }
  // Atomic: a concurrent process compiling the same thing writes the same bytes.
  await rename(tmp, out);
  return out;
}
