import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.ts';
import { ConfigSchema } from '../config/schema.ts';
import { resolveChannels } from './settings.ts';

const notify = (n: Record<string, unknown>) => ConfigSchema.parse({ notify: n }).notify;

describe('channel settings', () => {
  it('enables nothing by default', () => {
    expect(resolveChannels(notify({}), {})).toEqual({ channels: [], problems: [] });
  });

  it('reads every secret from the environment variable the config names', () => {
    const env = {
      QUORUM_TELEGRAM_BOT_TOKEN: '123456:ABC-def_ghi',
      MY_DISCORD: 'https://discord.example/api/webhooks/1/a-long-webhook-token',
      QUORUM_SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/T/B/xyz',
      QUORUM_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
      QUORUM_WEBHOOK_SECRET: 'sixteen-chars-at-least',
      QUORUM_SMTP_PASSWORD: 'smtp-pass',
    };
    const { channels, problems } = resolveChannels(
      notify({
        telegram: { enabled: true, chatId: '-1001', apiBaseUrl: 'http://127.0.0.1:8/' },
        discord: { enabled: true, minPriority: 'error', webhookUrlEnv: 'MY_DISCORD' },
        slack: { enabled: true },
        webhook: { enabled: true },
        email: { enabled: true, host: 'smtp.example', user: 'me', from: 'q@example.com', to: ['ops@example.com'] },
      }),
      env,
    );
    expect(problems).toEqual([]);
    expect(channels.map((c) => c.name)).toEqual(['telegram', 'discord', 'slack', 'webhook', 'email']);
    expect(channels[0]).toMatchObject({ url: 'http://127.0.0.1:8/bot123456:ABC-def_ghi/sendMessage', chatId: '-1001', secrets: ['123456:ABC-def_ghi'] });
    expect(channels[1]).toMatchObject({ minPriority: 'error', url: env.MY_DISCORD, secrets: [env.MY_DISCORD, '/api/webhooks/1/a-long-webhook-token', 'a-long-webhook-token'] });
    expect(channels[3]).toMatchObject({ url: env.QUORUM_WEBHOOK_URL, secret: env.QUORUM_WEBHOOK_SECRET });
    expect(channels[4]).toMatchObject({ host: 'smtp.example', port: 587, user: 'me', password: 'smtp-pass', secrets: ['smtp-pass'] });
  });

  it('names each missing or malformed variable without showing its value', () => {
    const { channels, problems } = resolveChannels(
      notify({ telegram: { enabled: true, chatId: '1' }, slack: { enabled: true }, webhook: { enabled: true } }),
      { QUORUM_TELEGRAM_BOT_TOKEN: 'not a token', QUORUM_WEBHOOK_URL: 'ftp://x', QUORUM_WEBHOOK_SECRET: 'short' },
    );
    expect(channels).toEqual([]);
    expect(problems).toEqual([
      'notify.telegram: QUORUM_TELEGRAM_BOT_TOKEN must be a bot token like 123456:ABC-def (value not shown)',
      'notify.slack is enabled but QUORUM_SLACK_WEBHOOK_URL (the webhook URL) is not set in the environment',
      'notify.webhook: QUORUM_WEBHOOK_URL must be an http(s) URL (value not shown)',
      'notify.webhook: QUORUM_WEBHOOK_SECRET must be at least 16 characters (value not shown)',
    ]);
    expect(problems.join(' ')).not.toMatch(/not a token|ftp:|short\b/);
  });

  it('takes a numeric chat id from the environment as its digits, and an empty variable as unset (docker compose ${VAR:-})', () => {
    const env = { QUORUM__NOTIFY__TELEGRAM__ENABLED: 'true', QUORUM__NOTIFY__TELEGRAM__CHAT_ID: '-1001234567890' };
    expect(loadConfig({ env, cwd: '/nonexistent' }).config.notify.telegram).toMatchObject({ enabled: true, chatId: '-1001234567890' });
    const off = loadConfig({ env: { QUORUM__NOTIFY__TELEGRAM__ENABLED: 'false', QUORUM__NOTIFY__TELEGRAM__CHAT_ID: '' }, cwd: '/nonexistent' }).config.notify.telegram;
    expect(off).toMatchObject({ enabled: false });
    expect(off.chatId).toBeUndefined();
  });

  it('refuses an enabled channel without what it needs in the config', () => {
    const r = ConfigSchema.safeParse({ notify: { telegram: { enabled: true }, email: { enabled: true } } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'notify.telegram.chatId: an enabled Telegram channel needs a chat id',
      'notify.email.host: an enabled email channel needs an SMTP host',
      'notify.email.from: an enabled email channel needs a sender address',
      'notify.email.to: an enabled email channel needs at least one recipient',
    ]);
  });
});
