import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';

export { Redis };

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

export class RedisPolicyError extends Error {
  override readonly name = 'RedisPolicyError';
}

export interface RedisEndpoint {
  url: string;
  /** 'configured' (REDIS_URL or config), 'default' (127.0.0.1:6379) or 'private' (started here). */
  origin: 'configured' | 'default' | 'private';
  /** Stops the private server; a no-op for the others. */
  stop(): Promise<void>;
}

/**
 * Blocking commands and BullMQ workers need maxRetriesPerRequest: null; everything else should fail
 * fast instead of queueing commands forever while Redis is down.
 */
export function createRedis(url: string, options: RedisOptions & { usage?: 'worker' | 'client' } = {}): Redis {
  const { usage, ...rest } = options;
  return new Redis(url, {
    maxRetriesPerRequest: usage === 'worker' ? null : 3,
    enableReadyCheck: true,
    connectionName: 'quorum',
    ...rest,
  });
}

/** PING with a deadline; never throws. */
export async function isReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * A configured Redis may be restarting, or starting beside this process (compose, systemd): a
 * worker that gave up at once would leave its queues unserved, so it retries for `waitMs`.
 */
async function waitUntilReachable(url: string, waitMs: number, onWait?: (url: string) => void): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    if (await isReachable(url, 3000)) return true;
    if (Date.now() >= deadline) return false;
    if (!told) onWait?.(redactUrl(url));
    told = true;
    await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * Finds the Redis to use: the configured URL, else 127.0.0.1:6379, else a private redis-server on a
 * free port (when allowed and installed), else an error that says how to get one.
 */
export async function resolveRedis(options: { url?: string | undefined; startPrivate: boolean; waitMs?: number; onWait?: (url: string) => void }): Promise<RedisEndpoint> {
  const noop = async () => undefined;
  if (options.url) {
    if (!(await waitUntilReachable(options.url, options.waitMs ?? 0, options.onWait))) {
      const waited = options.waitMs ? ` after ${Math.round(options.waitMs / 1000)} s (redis.waitMs)` : '';
      throw new RedisUnavailableError(`Redis at ${redactUrl(options.url)} (REDIS_URL / redis.url) is not answering${waited}. Start it, or unset REDIS_URL to use 127.0.0.1:6379.`);
    }
    return { url: options.url, origin: 'configured', stop: noop };
  }
  if (await isReachable(DEFAULT_REDIS_URL)) return { url: DEFAULT_REDIS_URL, origin: 'default', stop: noop };
  if (options.startPrivate && hasRedisServer()) return startPrivateRedis();
  throw new RedisUnavailableError(
    [
      'No Redis is reachable at 127.0.0.1:6379 and none was configured.',
      'Either set REDIS_URL=redis://host:port, or install Redis so that a private one can be started:',
      '  Debian/Ubuntu: sudo apt-get install redis-server   macOS: brew install redis',
      '  or run: docker compose up -d redis',
    ].join('\n'),
  );
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A throwaway redis-server (no persistence, noeviction) that lives as long as this process. */
export async function startPrivateRedis(): Promise<RedisEndpoint> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new RedisUnavailableError(`redis-server exited with code ${child.exitCode} while starting on port ${port}`);
    if (await isReachable(url, 200)) {
      return {
        url,
        origin: 'private',
        stop: async () => {
          process.off('exit', killOnExit);
          if (child.exitCode !== null) return;
          await new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new RedisUnavailableError(`redis-server did not answer on port ${port} within 5 s`);
}

/**
 * BullMQ and the ledger lose data silently if Redis evicts keys under memory pressure.
 * INFO works where CONFIG is disabled (managed Redis), so read the policy from there.
 */
export async function assertNoEviction(client: Redis): Promise<void> {
  const info = await client.info('memory');
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy && policy !== 'noeviction') {
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy}"; Quorum needs "noeviction" (an evicted job or ledger key is lost money). ` +
        'Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf).',
    );
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Deletes every key of a deployment (all of them sit under its hash-tagged prefix); returns how many. */
export async function deleteDeploymentKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
