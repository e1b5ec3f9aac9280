import { pino, type Logger } from 'pino';

export type { Logger };

/** Field names whose values are never logged, wherever they appear in a log object. */
const REDACT_PATHS = [
  'apiKey', 'apiSecret', 'secret', 'password', 'token', 'authorization', 'cookie',
  '*.apiKey', '*.apiSecret', '*.secret', '*.password', '*.token', '*.authorization', '*.cookie',
  'headers.authorization', 'req.headers.authorization', 'req.headers.cookie',
];

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** Secret values to scrub from messages and strings, wherever they appear. */
  secrets?: string[];
  name?: string;
}

/** Replaces every occurrence of a secret in a string; secrets shorter than 6 chars are not scrubbed (too many false hits). */
export function scrubber(secrets: string[] = []): (text: string) => string {
  const list = secrets.filter((s) => s.length >= 6);
  if (list.length === 0) return (text) => text;
  return (text) => list.reduce((out, s) => out.split(s).join('[REDACTED]'), text);
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const scrub = scrubber(options.secrets);
  return pino({
    name: options.name ?? 'quorum',
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    hooks: {
      // Secrets can also reach a log through an error message or a URL: scrub the final line.
      streamWrite: (line) => scrub(line),
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
