import { spawn, type ChildProcess } from 'node:child_process';
import type { Queue } from 'bullmq';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createRedis, freePort, isReachable, type Redis } from '../../src/infra/redis.ts';

// Processes to kill and a Redis to restart: shared by test/chaos.e2e.test.ts and the soak
// (bench/soak.ts), which runs outside vitest (so nothing here may use vitest's inject).

export const ROOT = new URL('../..', import.meta.url).pathname;

/** Settings that make a killed worker's jobs come back within a second or two. */
export const FAST_RECOVERY = { 'queues.lockDurationMs': 2000, 'queues.stalledIntervalMs': 1000 };

/** Dotted overrides as a nested config object (for a config file). */
function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flat)) {
    const keys = path.split('.');
    let node = out;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys.at(-1)!] = value;
  }
  return out;
}

/** A deployment every process of a chaos run shares: one Redis, one prefix, one config file. */
export interface Deployment {
  redisUrl: string;
  prefix: string;
  overrides: Record<string, unknown>;
  configFile: string;
  /** The same config as this process loads it. */
  config: Config;
  /** Deletes the config file's temporary folder. */
  remove(): void;
}

export function deployment(redisUrl: string, prefix: string, overrides: Record<string, unknown>): Deployment {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-chaos-'));
  const configFile = join(dir, 'config.json');
  const flat = { 'log.level': 'silent', 'log.format': 'json', ...overrides, 'redis.prefix': prefix };
  writeFileSync(configFile, JSON.stringify(nest(flat)));
  const config = loadConfig({ file: undefined, env: {}, cwd: ROOT, overrides: { ...flat, 'redis.url': redisUrl } }).config;
  return { redisUrl, prefix, overrides, configFile, config, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `quorum worker --queues ...` as its own OS process. */
export function spawnWorker(d: Deployment, queues: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['bin/quorum.js', '--config', d.configFile, 'worker', '--queues', queues.join(',')], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: d.redisUrl, QUORUM_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export async function killHard(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
}

/**
 * A set of worker processes kept at `size`, like a supervisor with a restart policy (compose's
 * `restart: unless-stopped`): `killOne` kill -9s one and starts a replacement at once, and a
 * process that exits on its own (`exits`) is replaced too.
 */
export class WorkerFleet {
  readonly alive: ChildProcess[] = [];
  private readonly startedAt = new Map<ChildProcess, number>();
  private stopping = false;
  kills = 0;
  /** Processes that exited without being killed here. */
  exits = 0;
  spawned = 0;

  constructor(
    private readonly start: () => ChildProcess,
    private readonly size: number,
  ) {}

  fill(): void {
    while (!this.stopping && this.alive.length < this.size) {
      const child = this.start();
      this.alive.push(child);
      this.startedAt.set(child, Date.now());
      this.spawned++;
      child.once('exit', () => {
        const index = this.alive.indexOf(child);
        if (index < 0) return; // killed or stopped here
        this.alive.splice(index, 1);
        this.startedAt.delete(child);
        this.exits++;
        this.fill();
      });
    }
  }

  /**
   * kill -9 one live worker that is working (its pid in `busyPids`, read from the active jobs'
   * processedBy) and has run at least `minAgeMs`, then start a replacement. False if none qualified.
   */
  async killBusy(busyPids: ReadonlySet<number>, minAgeMs: number): Promise<boolean> {
    const victim = this.alive.find((c) => c.pid !== undefined && busyPids.has(c.pid) && Date.now() - (this.startedAt.get(c) ?? 0) >= minAgeMs);
    if (!victim) return false;
    this.alive.splice(this.alive.indexOf(victim), 1);
    this.startedAt.delete(victim);
    await killHard(victim);
    this.kills++;
    this.fill();
    return true;
  }

  /** Resident memory (MB) of each live worker, from /proc (Linux). */
  rssMb(): number[] {
    return this.alive.map((c) => procRssMb(c.pid));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of this.alive.splice(0)) {
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited(c);
      clearTimeout(timer);
    }
  }
}

export function procRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

/** The pids of the processes holding active jobs in `queues` (BullMQ's processedBy is `host:pid`). */
export async function busyPids(queues: readonly Queue[]): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const q of queues) {
    for (const job of await q.getActive(0, 200)) {
      const pid = Number(job.processedBy?.split(':').at(-1));
      if (Number.isInteger(pid)) pids.add(pid);
    }
  }
  return pids;
}

/**
 * Until `signal` aborts, kill -9s a worker that is in the middle of a job (and has been up
 * `minAgeMs`, so that replacements get to work too): every `everyMs` (± half, at random), or, with
 * `progress`, each time it has moved `step` further (so that a slow machine sees as many kills
 * per run as a fast one), trying every `everyMs` until a busy worker is found.
 */
export async function keepKilling(options: {
  fleet: WorkerFleet;
  queues: readonly Queue[];
  everyMs: number;
  minAgeMs: number;
  signal: AbortSignal;
  progress?: { read: () => Promise<number>; step: number };
}): Promise<number> {
  let kills = 0;
  let nextAt = options.progress ? options.progress.step : 0;
  while (!options.signal.aborted) {
    await new Promise((r) => setTimeout(r, options.everyMs * (0.5 + Math.random())));
    if (options.signal.aborted) break;
    if (options.progress && (await options.progress.read().catch(() => 0)) < nextAt) continue;
    const pids = await busyPids(options.queues).catch(() => new Set<number>());
    if (await options.fleet.killBusy(pids, options.minAgeMs)) {
      kills++;
      if (options.progress) nextAt = (await options.progress.read().catch(() => nextAt)) + options.progress.step;
    }
  }
  return kills;
}

/**
 * A private redis-server with append-only persistence fsynced on every write, so that kill -9 and
 * a start on the same directory lose nothing that was acknowledged.
 */
export class PersistentRedis {
  private child: ChildProcess | undefined;
  restarts = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<PersistentRedis> {
    const redis = new PersistentRedis(await freePort(), mkdtempSync(join(tmpdir(), 'quorum-redis-')));
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', this.dir, '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} on port ${this.port}`);
      if (await isReachable(this.url, 200)) {
        // Loading the append-only file: wait until it answers commands, not only PING.
        const probe = createRedis(this.url, { maxRetriesPerRequest: 1 });
        try {
          for (;;) {
            const info = await probe.info('persistence');
            if (/loading:0/.test(info)) return;
            await new Promise((r) => setTimeout(r, 50));
          }
        } finally {
          probe.disconnect();
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not answer within 10 s`);
  }

  /** kill -9, then (after `downMs`) a new server on the same port and directory. */
  async crashAndRestart(downMs: number): Promise<void> {
    if (this.child) await killHard(this.child);
    await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
    this.restarts++;
  }

  /** INFO memory used_memory, in bytes. */
  async usedMemory(client: Redis): Promise<number> {
    return Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? NaN);
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    if (this.child) await killHard(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

