import { describe, expect, it } from 'vitest';
import { discordPayload, emailContent, slackEscape, slackPayload, telegramPayload, truncate, webhookPayload, type Deliverable } from './format.ts';

const n: Deliverable = { id: 'n-1', event: 'breaker.opened', priority: 'critical', title: 'binance breaker opened: execution paused', body: '5 failures in 60 s; last: <timeout> & more', at: Date.UTC(2026, 0, 2, 3, 4, 5) };

describe('channel payloads', () => {
  it('writes a Telegram sendMessage body in plain text with the priority, title, body and event', () => {
    expect(telegramPayload('-100123', n)).toEqual({
      chat_id: '-100123',
      text: '[CRITICAL] binance breaker opened: execution paused\n\n5 failures in 60 s; last: <timeout> & more\n\nbreaker.opened · 2026-01-02T03:04:05.000Z',
      disable_web_page_preview: true,
    });
  });

  it('keeps a Telegram message within 4096 characters and says it was cut', () => {
    const text = telegramPayload('1', { ...n, body: 'x'.repeat(5000) }).text;
    expect(text).toHaveLength(4096);
    expect(text.endsWith('… (truncated)')).toBe(true);
  });

  it('writes one Discord embed coloured by priority, with mentions disabled', () => {
    expect(discordPayload(n)).toEqual({
      username: 'Quorum',
      allowed_mentions: { parse: [] },
      embeds: [{ title: '[CRITICAL] binance breaker opened: execution paused', description: n.body, color: 0x8b0000, timestamp: '2026-01-02T03:04:05.000Z', footer: { text: 'breaker.opened' } }],
    });
    expect(discordPayload({ ...n, priority: 'info' }).embeds[0]!.color).not.toBe(discordPayload(n).embeds[0]!.color);
  });

  it('writes Slack blocks with &, < and > escaped in mrkdwn and a plain-text fallback', () => {
    const p = slackPayload(n);
    expect(p.text).toBe('[CRITICAL] binance breaker opened: execution paused');
    expect(p.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: '[CRITICAL] binance breaker opened: execution paused' } },
      { type: 'section', text: { type: 'mrkdwn', text: '5 failures in 60 s; last: &lt;timeout&gt; &amp; more' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'breaker.opened · 2026-01-02T03:04:05.000Z' }] },
    ]);
    expect(slackEscape('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it('leaves the Slack body block out when there is no body', () => {
    expect(slackPayload({ ...n, body: '' }).blocks.map((b) => b.type)).toEqual(['header', 'context']);
  });

  it('writes the webhook body with every field and the send time inside it', () => {
    expect(webhookPayload(n, 42)).toEqual({ schema: 'quorum.notification', v: 1, id: 'n-1', event: 'breaker.opened', priority: 'critical', title: n.title, body: n.body, at: n.at, sentAt: 42 });
  });

  it('writes an email subject on one line and the body with the event below a signature line', () => {
    expect(emailContent({ ...n, title: 'two\nlines' })).toEqual({ subject: '[Quorum CRITICAL] two lines', text: `${n.body}\n\n-- \nbreaker.opened · 2026-01-02T03:04:05.000Z\n` });
  });

  it('truncates only what is too long', () => {
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('0123456789abcdef', 15)).toBe('01… (truncated)');
  });
});
