import type { Config } from '../config/schema.ts';
import type { Priority } from './priority.ts';

export const CHANNELS = ['telegram', 'discord', 'slack', 'webhook', 'email'] as const;
export type ChannelName = (typeof CHANNELS)[number];

interface Base {
  minPriority: Priority;
  /** Every secret value of the channel, so that error texts and logs can be scrubbed of them. */
  secrets: string[];
}

export type ChannelSpec =
  | (Base & { name: 'telegram'; url: string; chatId: string })
  | (Base & { name: 'discord'; url: string })
  | (Base & { name: 'slack'; url: string })
  | (Base & { name: 'webhook'; url: string; secret: string })
  | (Base & { name: 'email'; host: string; port: number; secure: boolean; user?: string | undefined; password?: string | undefined; from: string; to: string[] });

function httpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The enabled channels with their secrets read from the environment, or every problem found.
 * Problems name the variable, never its value.
 */
export function resolveChannels(notify: Config['notify'], env: NodeJS.ProcessEnv): { channels: ChannelSpec[]; problems: string[] } {
  const channels: ChannelSpec[] = [];
  const problems: string[] = [];
  const read = (channel: ChannelName, name: string, what: string, check?: (v: string) => boolean, shape?: string): string | undefined => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`notify.${channel} is enabled but ${name} (${what}) is not set in the environment`);
      return undefined;
    }
    if (check && !check(value)) {
      problems.push(`notify.${channel}: ${name} must be ${shape} (value not shown)`);
      return undefined;
    }
    return value;
  };
  const urlShape = 'an http(s) URL';

  const t = notify.telegram;
  if (t.enabled) {
    const token = read('telegram', t.botTokenEnv, 'the bot token', (v) => /^[0-9]+:[A-Za-z0-9_-]+$/.test(v), 'a bot token like 123456:ABC-def');
    if (token && t.chatId) {
      channels.push({ name: 'telegram', minPriority: t.minPriority, url: `${t.apiBaseUrl.replace(/\/+$/, '')}/bot${token}/sendMessage`, chatId: t.chatId, secrets: [token] });
    }
  }
  for (const name of ['discord', 'slack'] as const) {
    const c = notify[name];
    if (!c.enabled) continue;
    const url = read(name, c.webhookUrlEnv, 'the webhook URL', httpUrl, urlShape);
    // The token is part of the URL's path: scrub the whole URL, its path, and each long segment (a server may echo the token alone).
    if (url) channels.push({ name, minPriority: c.minPriority, url, secrets: [url, new URL(url).pathname, ...new URL(url).pathname.split('/').filter((p) => p.length >= 16)] });
  }
  const w = notify.webhook;
  if (w.enabled) {
    const url = read('webhook', w.urlEnv, 'the URL to POST to', httpUrl, urlShape);
    const secret = read('webhook', w.secretEnv, 'the HMAC key', (v) => v.length >= 16, 'at least 16 characters');
    if (url && secret) channels.push({ name: 'webhook', minPriority: w.minPriority, url, secret, secrets: [secret] });
  }
  const e = notify.email;
  if (e.enabled && e.host && e.from) {
    const password = e.user ? read('email', e.passwordEnv, 'the SMTP password') : undefined;
    if (!e.user || password) {
      channels.push({ name: 'email', minPriority: e.minPriority, host: e.host, port: e.port, secure: e.secure, user: e.user, password, from: e.from, to: e.to, secrets: password ? [password] : [] });
    }
  }
  return { channels, problems };
}
