import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allQueueNames, normaliseQueueName } from '../queues/names.ts';

/**
 * The container setup cannot run here (no Docker engine in CI), so this checks what can be checked
 * without one: the compose file, the Dockerfile and .env.example against the CLI and the repository.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { published?: string | number; host_ip?: string })[];
  container_name?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  restart?: string;
  stop_grace_period?: string;
  volumes?: (string | { source?: string; target?: string })[];
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
// Compose resolves YAML merge keys (<<: *anchor); so must we.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;
const SERVICES = ['redis', 'app', 'analyst', 'worker', 'executor', 'feed'] as const;
/** Services that run this project's image (everything but redis). */
const own = Object.entries(services).filter(([, s]) => s.build !== undefined || s.image === services.app?.image);

/** Compose-style interpolation with the given environment: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$. */
function interpolate(text: string, env: Record<string, string | undefined> = {}): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (match, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (match === '$$') return '$';
    const value = env[name!];
    const unsetOrEmpty = value === undefined || value === '';
    switch (op) {
      case ':-':
        return unsetOrEmpty ? arg! : value;
      case '-':
        return value === undefined ? arg! : value;
      case ':?':
      case '?':
        if (op === ':?' ? unsetOrEmpty : value === undefined) throw new Error(`required variable ${name}: ${arg}`);
        return value!;
      default:
        return value ?? '';
    }
  });
}

function argv(service: Service): string[] {
  const { command } = service;
  if (command === undefined) return [];
  const words = Array.isArray(command) ? command : command.trim().split(/\s+/);
  return words.map((w) => interpolate(String(w)));
}

function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.includes('=') ? e.slice(e.indexOf('=') + 1) : '']));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(service: Service): Record<string, string> {
  const d = service.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([name, v]) => [name, v?.condition ?? 'service_started']));
}

/** The value of --queues / -q in a worker command. */
function queuesOf(args: string[]): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--queues' || a === '-q') return args[i + 1]!.split(',').map((s) => s.trim()).filter(Boolean);
    if (a.startsWith('--queues=')) return a.slice('--queues='.length).split(',').map((s) => s.trim()).filter(Boolean);
  }
  return ['all'];
}

/** Top-level commands the CLI registers, read from its own --help (the source of truth). */
function cliCommands(): string[] {
  const result = spawnSync(process.execPath, ['bin/quorum.js', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`quorum --help exited with ${result.status}: ${result.stderr}`);
  const lines = result.stdout.split('\n');
  const start = lines.findIndex((l) => /^Commands:\s*$/.test(l));
  if (start < 0) throw new Error(`no "Commands:" section in quorum --help:\n${result.stdout}`);
  const commands: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break; // the next section
    const m = /^ {2}([a-z][a-z0-9-]*)\b/.exec(line);
    if (m && m[1] !== 'help') commands.push(m[1]!);
  }
  return commands;
}

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE|CREDENTIAL/i;
/** A secret's value in the compose file must come from the environment: ${VAR}, ${VAR:-} or ${VAR:?message}, never a literal or a literal default. */
const INTERPOLATED = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-|-)?\}$|^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$/;

describe('docker-compose.yml', () => {
  it('uses the Compose spec (no obsolete version key) and defines redis, app, analyst, worker, executor and feed', () => {
    expect(compose.version).toBeUndefined();
    for (const name of SERVICES) expect(Object.keys(services), `service ${name}`).toContain(name);
  });

  it('runs redis 7 with AOF persistence on a named volume and the noeviction policy', () => {
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    const cmd = argv(redis).join(' ');
    expect(cmd).toMatch(/--appendonly yes\b/);
    expect(cmd).toMatch(/--appendfsync everysec\b/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction\b/);
    const dataVolume = (redis.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => v.endsWith(':/data'));
    expect(dataVolume, 'a volume mounted at /data').toBeDefined();
    const volumeName = dataVolume!.split(':')[0]!;
    expect(volumeName, 'a named volume, not a host path').not.toMatch(/^[./~]/);
    expect(Object.keys(compose.volumes ?? {})).toContain(volumeName);
    expect(redis.ports ?? [], 'redis is not published on the host').toEqual([]);
  });

  it('gives every project service a command whose first word is a command the CLI registers', () => {
    const commands = cliCommands();
    expect(commands).toEqual(expect.arrayContaining(['server', 'worker', 'feed']));
    expect(own.map(([name]) => name).sort()).toEqual(['analyst', 'app', 'executor', 'feed', 'worker']);
    for (const [name, service] of own) {
      expect(service.entrypoint, `${name} keeps the image's entrypoint`).toBeUndefined();
      const args = argv(service);
      expect(args.length, `${name} has a command`).toBeGreaterThan(0);
      expect(commands, `${name}: "${args[0]}" is not a quorum command`).toContain(args[0]);
    }
    expect(argv(services.app!)[0]).toBe('server');
    expect(argv(services.worker!)[0]).toBe('worker');
    expect(argv(services.analyst!)[0]).toBe('worker');
    expect(argv(services.executor!)[0]).toBe('worker');
    expect(argv(services.feed!)).toEqual(['feed', '--wait']);
  });

  it('names only real queues in analyst, worker and executor, and together they serve every queue', () => {
    const analyst = queuesOf(argv(services.analyst!)).map(normaliseQueueName);
    expect(analyst).toEqual(['analysis']);
    const known = allQueueNames('paper');
    const worker = [...queuesOf(argv(services.worker!)), ...analyst].map(normaliseQueueName);
    const executor = queuesOf(argv(services.executor!)).map(normaliseQueueName);
    for (const q of [...worker, ...executor]) expect(known, `queue "${q}"`).toContain(q);
    expect(executor).toEqual(['execution-paper']);
    expect(worker).not.toContain('execution-paper');
    expect(new Set([...worker, ...executor])).toEqual(new Set(known));
  });

  it('lets the worker scale: no container_name and no published ports', () => {
    for (const name of ['analyst', 'worker', 'executor', 'feed']) {
      expect(services[name]!.container_name, name).toBeUndefined();
      expect(services[name]!.ports ?? [], name).toEqual([]);
    }
  });

  it('publishes the app on the host loopback only, bound to 0.0.0.0 in the container behind a required token', () => {
    const app = services.app!;
    const env = environment(app);
    expect(env.QUORUM_HOST).toBe('0.0.0.0');
    expect(env.QUORUM_TOKEN).toMatch(/^\$\{QUORUM_TOKEN:\?[^}]+\}$/);
    expect(() => interpolate(env.QUORUM_TOKEN!, {})).toThrow(/QUORUM_TOKEN/);
    expect(app.ports?.length).toBeGreaterThan(0);
    for (const service of Object.values(services)) {
      for (const port of service.ports ?? []) {
        if (typeof port === 'string') expect(port).toMatch(/^127\.0\.0\.1:/);
        else expect(port.host_ip).toBe('127.0.0.1');
      }
    }
  });

  it('points every project service at the redis service and waits until it is healthy', () => {
    for (const [name, service] of own) {
      expect(environment(service).REDIS_URL, name).toMatch(/^redis:\/\/redis:6379\b/);
      expect(dependsOn(service).redis, name).toBe('service_healthy');
    }
  });

  it('runs the feed once, after the app and the workers have started', () => {
    const feed = services.feed!;
    expect(feed.restart).toBe('no');
    const deps = dependsOn(feed);
    for (const name of ['app', 'analyst', 'worker', 'executor']) expect(Object.keys(deps), `feed depends on ${name}`).toContain(name);
  });

  it('gives workers time to finish active jobs on SIGTERM', () => {
    for (const name of ['analyst', 'worker', 'executor']) expect(services[name]!.stop_grace_period, name).toMatch(/^([3-9]\d|\d{3,})s$/);
  });

  it('has healthchecks on redis, app, analyst, worker and executor', () => {
    for (const name of ['redis', 'app', 'analyst', 'worker', 'executor']) {
      const hc = services[name]!.healthcheck;
      expect(hc?.disable, name).not.toBe(true);
      expect(hc?.test, `${name} healthcheck test`).toBeDefined();
    }
    expect(JSON.stringify(services.redis!.healthcheck!.test)).toContain('redis-cli ping');
    expect(JSON.stringify(services.app!.healthcheck!.test)).toContain('/healthz');
  });

  it('holds no literal secrets: every token, key and password is a ${...} interpolation without a default', () => {
    let checked = 0;
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environment(service))) {
        if (!SECRET_NAME.test(key)) continue;
        checked++;
        expect(value, `${name}.environment.${key}`).toMatch(INTERPOLATED);
      }
      for (const [key, value] of Object.entries(environment(service))) {
        expect(value, `${name}.environment.${key}: no password in a URL`).not.toMatch(/:\/\/[^/\s:@]*:[^/\s@$]+@/);
      }
    }
    expect(checked, 'QUORUM_TOKEN and the API credentials are checked').toBeGreaterThanOrEqual(3);
    expect(composeText, 'no env_file that would hand every variable to every container').not.toMatch(/^\s*env_file\s*:/m);
  });

  it.skipIf(dockerComposeMissing())(
    'is valid for docker compose (config -q), and refuses to start without QUORUM_TOKEN',
    () => {
      const base = { ...process.env };
      delete base.QUORUM_TOKEN;
      const ok = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '-q'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...base, QUORUM_TOKEN: 'fake-token-for-compose-config-check' },
      });
      expect(ok.status, ok.stderr).toBe(0);
      // An empty --env-file keeps a developer's own .env out of this check.
      const missing = spawnSync('docker', ['compose', '--env-file', '/dev/null', '-f', 'docker-compose.yml', 'config', '-q'], { cwd: root, encoding: 'utf8', env: base });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toMatch(/QUORUM_TOKEN/);
    },
  );
});

function dockerComposeMissing(): boolean {
  const result = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 20_000 });
  if (result.status !== 0) console.info('skipping `docker compose config`: the docker compose plugin is not installed here');
  return result.status !== 0;
}

/** Dockerfile instructions, with line continuations joined and comments dropped. */
function dockerfile(): { op: string; args: string }[] {
  const joined = read('Dockerfile')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}

/** Repository files matching a Dockerfile COPY source (which may hold * ? [..] globs). */
function matches(source: string): string[] {
  const clean = source.replace(/^\.\//, '').replace(/\/$/, '');
  if (!/[*?[]/.test(clean)) return existsSync(join(root, clean)) ? [clean] : [];
  const dir = dirname(clean);
  const pattern = new RegExp(`^${clean.slice(dir === '.' ? 0 : dir.length + 1).replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  const abs = join(root, dir);
  return existsSync(abs) ? readdirSync(abs).filter((f) => pattern.test(f)).map((f) => join(dir, f)) : [];
}

describe('Dockerfile', () => {
  const instructions = dockerfile();
  const of = (op: string) => instructions.filter((i) => i.op === op);

  it('builds on node:20-bookworm-slim and runs as the non-root node user', () => {
    expect(of('FROM')[0]?.args).toMatch(/^node:20-bookworm-slim\b/);
    expect(of('USER').at(-1)?.args).toBe('node');
  });

  it('installs production dependencies only, which include everything the code imports at run time', () => {
    expect(of('RUN').map((r) => r.args).join('\n')).toMatch(/npm ci --omit=dev/);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    // The image compiles and runs TypeScript with esbuild; tsx is for development only.
    expect(Object.keys(pkg.dependencies)).toContain('esbuild');
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    expect(of('RUN').map((r) => r.args).join('\n')).toMatch(/node bin\/quorum\.js compile/);
    // Every bare import in code the image runs must be a production dependency (or a node builtin).
    const builtins = new Set(builtinModules);
    const missing: string[] = [];
    for (const file of runtimeFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(import|export)(?!\s+type\b)[^'"`;]*?\sfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
        const spec = m[2] ?? m[3] ?? m[4]!;
        if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtins.has(spec.split('/')[0]!)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in pkg.dependencies)) missing.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    expect(missing, 'imports of packages that `npm ci --omit=dev` leaves out').toEqual([]);
  });

  it('copies only files that exist in the repository', () => {
    const copies = of('COPY');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      if (/--from=/.test(copy.args)) continue;
      const words = copy.args.startsWith('[') ? (JSON.parse(copy.args) as string[]) : copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const sources = words.slice(0, -1);
      expect(sources.length, `COPY ${copy.args}`).toBeGreaterThan(0);
      for (const source of sources) {
        // A glob may match nothing (an optional file); a plain path must exist.
        if (!/[*?[]/.test(source)) expect(matches(source), `COPY source ${source}`).not.toEqual([]);
      }
      expect(sources.flatMap(matches), `COPY ${copy.args} copies something`).not.toEqual([]);
    }
    const copied = copies.flatMap((c) => c.args.split(/\s+/).slice(0, -1)).map((s) => s.replace(/^\.\//, '').replace(/\/$/, ''));
    for (const needed of ['package.json', 'package-lock.json', 'bin', 'src', 'queues', 'processors', 'bots', 'data', 'tsconfig.json']) {
      expect(copied, `the image needs ${needed}`).toContain(needed);
    }
  });

  it('starts the CLI through an ENTRYPOINT file that exists, serving HTTP by default, with a healthcheck', () => {
    const entrypoint = JSON.parse(of('ENTRYPOINT').at(-1)!.args) as string[];
    expect(entrypoint).toEqual(['node', 'bin/quorum.js']);
    expect(existsSync(join(root, entrypoint[1]!))).toBe(true);
    expect(JSON.parse(of('CMD').at(-1)!.args)).toEqual(['server']);
    const healthcheck = of('HEALTHCHECK').at(-1)?.args ?? '';
    expect(healthcheck).toContain('/healthz');
    expect(healthcheck).not.toMatch(/\bcurl\b|\bwget\b/);
  });

  it('keeps node_modules, git data and env files out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', '.git', '.env', '.env.*']) expect(ignored).toContain(entry);
    for (const needed of ['src', 'bin', 'data', 'package.json', 'package-lock.json']) expect(ignored).not.toContain(needed);
  });
});

/** Source files the image runs: bin/, src/, queues/, processors/, bots/, minus tests. */
function runtimeFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(path);
      } else if (/\.[cm]?[jt]s$/.test(entry.name) && !/\.(test|spec)\.[cm]?[jt]s$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        out.push(path);
      }
    }
  };
  for (const dir of ['bin', 'src', 'queues', 'processors', 'bots']) walk(join(root, dir));
  return out;
}

describe('.env.example', () => {
  const entries = read('.env.example')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [key, ...rest] = l.split('=');
      return { key: key!.replace(/^export\s+/, '').trim(), value: rest.join('=').trim().replace(/^(['"])(.*)\1$/, '$2') };
    });

  it('lists QUORUM_TOKEN and the optional exchange credentials', () => {
    const keys = entries.map((e) => e.key);
    for (const key of ['QUORUM_TOKEN', 'QUORUM_API_KEY', 'QUORUM_API_SECRET']) expect(keys).toContain(key);
  });

  it('holds only placeholders: secrets are empty or obviously fake', () => {
    for (const { key, value } of entries) {
      if (!SECRET_NAME.test(key)) continue;
      if (value === '') continue;
      expect(value, `${key} must be empty or an obvious placeholder`).toMatch(/change|replace|example|placeholder|your|fake|xxx|<.*>/i);
    }
    const byKey = Object.fromEntries(entries.map((e) => [e.key, e.value]));
    expect(byKey.QUORUM_API_KEY).toBe('');
    expect(byKey.QUORUM_API_SECRET).toBe('');
  });

  it('covers every variable the compose file requires', () => {
    const required = [...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1]!);
    const keys = entries.map((e) => e.key);
    for (const name of required) expect(keys, `${name} is required by docker-compose.yml`).toContain(name);
  });
});
