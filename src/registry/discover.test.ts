import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discoverBots, isBotFileName } from './discover.ts';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BOTS_DIR = join(root, 'bots');
const FIXTURES = join(root, 'test/fixtures/bots');

describe('discoverBots', () => {
  it('loads every bot file in bots/ and none fails', async () => {
    // Counted without discover.ts's own filter, so a file it wrongly skips is noticed.
    const botFiles = readdirSync(BOTS_DIR).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.includes('.test.') && !f.startsWith('_'));
    expect(botFiles.length).toBeGreaterThanOrEqual(25);

    const report = await discoverBots(BOTS_DIR);

    expect(report.failed).toEqual([]);
    expect(report.loaded).toHaveLength(botFiles.length);
    expect(report.files.map((f) => basename(f)).sort()).toEqual([...botFiles].sort());
    // Each bot's id is its file name: `quorum bots` and config then speak of the same thing.
    expect(report.loaded.map((b) => b.id).sort()).toEqual(botFiles.map((f) => f.replace(/\.(ts|js|mjs)$/, '')).sort());
    for (const bot of report.loaded) {
      expect(bot.definition.id).toBe(bot.id);
      expect(bot.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(bot.description.length).toBeGreaterThan(0);
    }
  });

  it('reports each broken fixture with a reason naming its file and still loads the good one', async () => {
    const report = await discoverBots(FIXTURES);

    expect(report.files.length).toBe(report.loaded.length + report.failed.length);
    expect(report.loaded.map((b) => [basename(b.file), b.id])).toEqual([['good.ts', 'fixture-good']]);

    const why = Object.fromEntries(report.failed.map((f) => [basename(f.file), f.error]));
    expect(Object.keys(why).sort()).toEqual(['bad-defaults.ts', 'bad-shape.ts', 'no-default.ts', 'same-id-as-good.ts', 'syntax-error.ts', 'throws-at-import.ts']);
    for (const [file, error] of Object.entries(why)) expect(error.startsWith(`${file}: `)).toBe(true);

    expect(why['throws-at-import.ts']).toContain('threw while being imported: boom while importing');
    expect(why['syntax-error.ts']).toMatch(/^syntax-error\.ts: does not compile: .*syntax-error\.ts:11:\d+: Expected "}" but found "\)"/);
    expect(why['bad-defaults.ts']).toBe('bad-defaults.ts: its default params fail its own schema: fast: fast must be less than slow');
    expect(why['no-default.ts']).toContain('has no default export (it exports only bot)');
    expect(why['same-id-as-good.ts']).toContain('bot id "fixture-good" is already used by good.ts');
    const shape = why['bad-shape.ts']!;
    expect(shape).toContain('apiVersion: must be 1');
    expect(shape).toContain('id: must be kebab-case');
    expect(shape).toContain('version: must be semver');
    expect(shape).toContain('params: must be a zod object schema');
    expect(shape).toContain('warmup: must be a function');
  });

  it('never imports helpers, tests, declarations, hidden files or non-scripts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quorum-discover-'));
    try {
      const poison = "throw new Error('imported');\n";
      for (const name of ['_helper.ts', 'x.test.ts', 'x.spec.mjs', 'types.d.ts', '.hidden.ts', 'notes.md', 'data.json']) {
        await writeFile(join(dir, name), poison);
      }
      await writeFile(join(dir, 'empty.mjs'), 'export const nothing = 1;\n');

      const report = await discoverBots(dir);

      expect(report.files.map((f) => basename(f))).toEqual(['empty.mjs']);
      expect(report.failed).toHaveLength(1);
      expect(report.failed[0]!.error).toMatch(/^empty\.mjs: has no default export/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('recognises bot file names', () => {
    expect(['a.ts', 'a.js', 'a.mjs'].every(isBotFileName)).toBe(true);
    expect(['_a.ts', '.a.ts', 'a.test.ts', 'a.spec.js', 'a.d.ts', 'a.cjs', 'a.json'].some(isBotFileName)).toBe(false);
  });
});
