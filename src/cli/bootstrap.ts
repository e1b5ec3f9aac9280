import { ConfigError, loadConfig, secretValues, type LoadedConfig } from '../config/load.ts';
import { createLogger, type Logger } from '../infra/logger.ts';
import { notifySecrets } from '../main/notify.ts';
import { RedisPolicyError, RedisUnavailableError, resolveRedis, type RedisEndpoint } from '../infra/redis.ts';
import { createContext, type Context } from '../main/context.ts';
import { StartupError } from '../main/workers.ts';

/** Exit codes a script can act on. */
export const EXIT = { ok: 0, failure: 1, config: 2, redis: 3 } as const;

export interface GlobalOptions {
  config?: string;
}

export function loadConfigOrExit(options: GlobalOptions, overrides: Record<string, unknown> = {}): LoadedConfig {
  try {
    return loadConfig({ file: options.config, overrides });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT.config);
    }
    throw error;
  }
}

export function loggerFor(loaded: LoadedConfig, name = 'quorum'): Logger {
  return createLogger({ level: loaded.config.log.level, format: loaded.config.log.format, secrets: [...secretValues(loaded.config), ...notifySecrets(loaded.config.notify, process.env)], name });
}

/**
 * Closers run once, in order, on SIGINT/SIGTERM or at the end: stop taking jobs, let active ones
 * finish, close queues, then Redis. A second signal exits at once.
 */
export class Lifecycle {
  private readonly closers: { name: string; close: () => Promise<void> }[] = [];
  private closing: Promise<void> | undefined;
  readonly abort = new AbortController();

  constructor(private readonly log: Logger) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.closing) {
        this.log.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      this.log.info({ signal }, 'shutting down: finishing active jobs');
      void this.shutdown().then(() => process.exit(0));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  /** Registered closers run in reverse order of registration (last started, first stopped). */
  add(name: string, close: () => Promise<void>): void {
    this.closers.unshift({ name, close });
  }

  shutdown(): Promise<void> {
    this.abort.abort();
    this.closing ??= (async () => {
      for (const { name, close } of this.closers) {
        try {
          await close();
        } catch (error) {
          this.log.error({ component: name, err: (error as Error).message }, 'error while closing');
        }
      }
    })();
    return this.closing;
  }
}

/** Finds Redis (or starts a private one) and builds the shared context; explains and exits on failure. */
export async function connect(loaded: LoadedConfig, log: Logger, life: Lifecycle): Promise<{ ctx: Context; endpoint: RedisEndpoint }> {
  let endpoint: RedisEndpoint;
  try {
    endpoint = await resolveRedis({
      url: loaded.config.redis.url,
      startPrivate: loaded.config.redis.startPrivate,
      waitMs: loaded.config.redis.waitMs,
      onWait: (url) => log.warn({ url, waitMs: loaded.config.redis.waitMs }, 'Redis is not answering yet: waiting for it'),
    });
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT.redis);
    }
    throw error;
  }
  life.add('redis-server', () => endpoint.stop());
  if (endpoint.origin === 'private') log.info({ url: endpoint.url }, 'started a private redis-server (stopped on exit; keeps nothing)');
  try {
    const ctx = await createContext(loaded.config, log, endpoint.url);
    life.add('context', () => ctx.close());
    return { ctx, endpoint };
  } catch (error) {
    if (error instanceof RedisPolicyError) {
      process.stderr.write(`${error.message}\n`);
      await life.shutdown();
      process.exit(EXIT.redis);
    }
    throw error;
  }
}

/** Prints a startup problem the way a person can act on it, then exits. */
export async function failStartup(error: unknown, life: Lifecycle | undefined): Promise<never> {
  if (error instanceof StartupError) {
    process.stderr.write(`${error.message}\n${error.problems.map((p) => `  - ${p}`).join('\n')}${error.problems.length ? '\n' : ''}`);
  } else {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  }
  await life?.shutdown();
  process.exit(error instanceof StartupError ? EXIT.config : EXIT.failure);
}
