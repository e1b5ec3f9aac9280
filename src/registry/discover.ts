import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { compileModule } from '../infra/compile.ts';
import { BOT_API_VERSION, BOT_FAMILIES, BOT_ROLES, type BotDefinition } from '../core/bot.ts';

export interface DiscoveredBot {
  /** Absolute path of the bot file. */
  file: string;
  /** The compiled module that was loaded (plain JavaScript, see src/infra/compile.ts). */
  compiled: string;
  id: string;
  version: string;
  description: string;
  definition: BotDefinition;
}

export interface BotLoadFailure {
  /** Absolute path of the file that did not load. */
  file: string;
  /** Why, starting with the file's name. */
  error: string;
}

export interface DiscoveryReport {
  /** Absolute path of the folder searched. */
  dir: string;
  /** Every candidate file, sorted; each ends up in exactly one of `loaded` and `failed`. */
  files: string[];
  loaded: DiscoveredBot[];
  failed: BotLoadFailure[];
}

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;
// semver.org's pattern, without build metadata captures.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

const fn = () => z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');

/** The shape a default export must have to be a bot (see BotDefinition). */
export const BotDefinitionShape = z.object({
  apiVersion: z.literal(BOT_API_VERSION, {
    error: (issue) => `must be ${BOT_API_VERSION} (got ${JSON.stringify(issue.input)}), as set by defineBot({...})`,
  }),
  id: z.string().regex(KEBAB, 'must be kebab-case, e.g. "ema-crossover"'),
  version: z.string().regex(SEMVER, 'must be semver, e.g. "1.0.0"'),
  description: z.string().min(1, 'must not be empty'),
  family: z.enum(BOT_FAMILIES, { error: `must be one of ${BOT_FAMILIES.join(', ')}` }),
  role: z.enum(BOT_ROLES, { error: `must be one of ${BOT_ROLES.join(', ')}` }).optional(),
  params: z.custom<z.ZodObject>((v) => v instanceof z.ZodObject, 'must be a zod object schema (z.object({...}))'),
  warmup: fn(),
  analyze: fn(),
});

/** Candidate bot files: scripts directly in the folder, minus tests, declarations and hidden or `_` helpers. */
export function isBotFileName(name: string): boolean {
  if (name.startsWith('_') || name.startsWith('.')) return false;
  if (/\.(test|spec)\.[cm]?[jt]s$/.test(name) || name.endsWith('.d.ts')) return false;
  return /\.(ts|js|mjs)$/.test(name);
}

/**
 * Imports every bot file in `dir`. A file that cannot be imported, exports no valid bot, or
 * reuses an id taken by an earlier file (in name order) is reported in `failed`; the others load.
 */
export async function discoverBots(dir: string): Promise<DiscoveryReport> {
  const abs = resolve(dir);
  const entries = await readdir(abs, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.map((e) => e.name).sort()) {
    if (!isBotFileName(entry)) continue;
    const file = join(abs, entry);
    // Follows symlinks; folders named like scripts are not bots.
    if ((await stat(file).catch(() => undefined))?.isFile()) files.push(file);
  }

  const report: DiscoveryReport = { dir: abs, files, loaded: [], failed: [] };
  const byId = new Map<string, string>();
  for (const file of files) {
    const name = basename(file);
    let mod: Record<string, unknown>;
    let compiled: string;
    try {
      compiled = await compileModule('bots', file);
    } catch (error) {
      report.failed.push({ file, error: `${name}: does not compile: ${messageOf(error)}` });
      continue;
    }
    try {
      mod = (await import(pathToFileURL(compiled).href)) as Record<string, unknown>;
    } catch (error) {
      report.failed.push({ file, error: `${name}: threw while being imported: ${messageOf(error)}` });
      continue;
    }
    if (!('default' in mod) || mod.default === undefined) {
      const named = Object.keys(mod);
      const hint = named.length > 0 ? ` (it exports only ${named.join(', ')})` : '';
      report.failed.push({ file, error: `${name}: has no default export${hint}; export default defineBot({...})` });
      continue;
    }
    const parsed = BotDefinitionShape.safeParse(mod.default);
    if (!parsed.success) {
      report.failed.push({ file, error: `${name}: default export is not a valid bot: ${formatIssues(parsed.error.issues)}` });
      continue;
    }
    const definition = mod.default as BotDefinition;
    const taken = byId.get(definition.id);
    if (taken !== undefined) {
      report.failed.push({ file, error: `${name}: bot id "${definition.id}" is already used by ${basename(taken)}` });
      continue;
    }
    // A bot whose own defaults fail its schema could never run with an empty config: say so now.
    const defaults = definition.params.safeParse({});
    if (!defaults.success) {
      report.failed.push({ file, error: `${name}: its default params fail its own schema: ${formatIssues(defaults.error.issues)}` });
      continue;
    }
    try {
      const warmup = definition.warmup(defaults.data as never);
      if (!Number.isInteger(warmup) || warmup < 1) throw new Error(`warmup of the defaults is ${String(warmup)}, not a positive integer`);
    } catch (error) {
      report.failed.push({ file, error: `${name}: ${messageOf(error)}` });
      continue;
    }
    byId.set(definition.id, file);
    report.loaded.push({ file, compiled, id: definition.id, version: definition.version, description: definition.description, definition });
  }
  return report;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
