import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigSchema, SECRET_PATHS, type Config } from './schema.ts';

/** The config file read when none is named and ./quorum.config.yaml exists. */
export const DEFAULT_CONFIG_FILE = 'quorum.config.yaml';

/** Environment variables with a name of their own; any field can also be set as QUORUM__SECTION__FIELD. */
const ENV_FIELDS: Record<string, { path: string; type: 'string' | 'number' }> = {
  REDIS_URL: { path: 'redis.url', type: 'string' },
  QUORUM_REDIS_PREFIX: { path: 'redis.prefix', type: 'string' },
  QUORUM_LOG_LEVEL: { path: 'log.level', type: 'string' },
  QUORUM_LOG_FORMAT: { path: 'log.format', type: 'string' },
  QUORUM_HOST: { path: 'server.host', type: 'string' },
  QUORUM_PORT: { path: 'server.port', type: 'number' },
  QUORUM_TOKEN: { path: 'server.token', type: 'string' },
  QUORUM_EXCHANGE: { path: 'exchange.id', type: 'string' },
  QUORUM_MODE: { path: 'exchange.mode', type: 'string' },
  QUORUM_API_KEY: { path: 'exchange.apiKey', type: 'string' },
  QUORUM_API_SECRET: { path: 'exchange.apiSecret', type: 'string' },
  QUORUM_EXCHANGE_BASE_URL: { path: 'exchange.baseUrl', type: 'string' },
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly summary: string,
    readonly problems: string[],
  ) {
    super(`${summary}\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface LoadedConfig {
  config: Config;
  /** The file read, if any. */
  file: string | undefined;
  /** Where each overridden field came from, by dotted path. */
  sources: Record<string, string>;
}

export interface LoadOptions {
  /** A config file; else QUORUM_CONFIG; else ./quorum.config.yaml when present. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Applied last, e.g. from CLI flags. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const sources: Record<string, string> = {};
  let raw: Record<string, unknown> = {};

  const named = options.file ?? env.QUORUM_CONFIG;
  const file = named ? resolve(cwd, named) : existsSync(resolve(cwd, DEFAULT_CONFIG_FILE)) ? resolve(cwd, DEFAULT_CONFIG_FILE) : undefined;
  if (file) {
    raw = readConfigFile(file);
    for (const secret of SECRET_PATHS) {
      if (getPath(raw, secret) !== undefined) {
        throw new ConfigError(`config error in ${file}`, [
          `${secret}: secrets are read from the environment only; remove it from the file and set ${envNameOf(secret)}`,
        ]);
      }
    }
    for (const path of leafPaths(raw)) sources[path] = file;
  }

  for (const [name, field] of Object.entries(ENV_FIELDS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, field.path, field.type === 'number' && /^-?[0-9.]+$/.test(value) ? Number(value) : value);
    sources[field.path] = `environment variable ${name}`;
  }
  for (const [name, value] of Object.entries(env)) {
    // Empty means unset, as for the named variables (docker compose passes ${VAR:-} as "").
    if (!name.startsWith('QUORUM__') || value === undefined || value === '') continue;
    const path = name.slice('QUORUM__'.length).split('__').map(camelCase).join('.');
    setPath(raw, path, parseEnvValue(value));
    sources[path] = `environment variable ${name}`;
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    setPath(raw, path, value);
    sources[path] = 'command line';
  }

  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, raw, sources, file));
    throw new ConfigError(`invalid configuration (${problems.length} problem${problems.length > 1 ? 's' : ''})`, problems);
  }
  return { config: result.data, file, sources };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}`, [(error as Error).message]);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}`, [(error as Error).message]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a mapping of sections`, [`found ${Array.isArray(parsed) ? 'a list' : typeof parsed}`]);
  }
  return parsed as Record<string, unknown>;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, sources: Record<string, string>, file: string | undefined): string {
  const path = issue.path.map(String).join('.') || '(root)';
  const value = getPath(raw, path);
  const shown = SECRET_PATHS.includes(path as (typeof SECRET_PATHS)[number]) ? '(secret, not shown)' : JSON.stringify(value);
  let origin = sources[path];
  for (let p = path; !origin && p.includes('.'); ) {
    p = p.slice(0, p.lastIndexOf('.'));
    origin = sources[p];
  }
  // An unknown field at the root has no value of its own at "(root)": it came from the file all the same.
  origin ??= file && (value !== undefined || issue.code === 'unrecognized_keys') ? file : 'defaults';
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${path}: ${message}${value !== undefined && issue.code !== 'unrecognized_keys' ? ` (got ${shown})` : ''} [from ${origin}]`;
}

function envNameOf(path: string): string {
  return Object.entries(ENV_FIELDS).find(([, f]) => f.path === path)?.[0] ?? `QUORUM__${path.split('.').join('__').toUpperCase()}`;
}

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function getPath(obj: unknown, path: string): unknown {
  let node: unknown = obj;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = obj;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function leafPaths(obj: unknown, prefix = ''): string[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return prefix ? [prefix] : [];
  return Object.entries(obj).flatMap(([k, v]) => [prefix ? `${prefix}.${k}` : k, ...leafPaths(v, prefix ? `${prefix}.${k}` : k)]);
}

/** The effective config with every secret replaced by a mask: safe to print or log. */
export function maskSecrets(config: Config): Config {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const path of SECRET_PATHS) {
    if (getPath(copy, path) !== undefined) setPath(copy, path, '***masked***');
  }
  return copy as Config;
}

/** Every secret value in the config, so that loggers and error paths can scrub them. */
export function secretValues(config: Config): string[] {
  return SECRET_PATHS.map((p) => getPath(config, p)).filter((v): v is string => typeof v === 'string' && v.length > 0);
}
