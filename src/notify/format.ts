import type { Priority } from './priority.ts';

/** A notification as every channel sees it: an event, or a digest of several. */
export interface Deliverable {
  /** Unique id (the message's, or the digest's). */
  id: string;
  event: string;
  priority: Priority;
  title: string;
  body: string;
  /** When the event happened (ms since epoch). */
  at: number;
}

const LABEL: Record<Priority, string> = { info: 'INFO', warning: 'WARNING', error: 'ERROR', critical: 'CRITICAL' };
/** Discord embed colours: grey, amber, red, deep red. */
const COLOUR: Record<Priority, number> = { info: 0x95a5a6, warning: 0xf1c40f, error: 0xe74c3c, critical: 0x8b0000 };

/** Cuts text to `max` characters, saying so, so that a channel never refuses a long body. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = '… (truncated)';
  return text.slice(0, Math.max(0, max - marker.length)) + marker;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

function footer(n: Deliverable): string {
  return `${n.event} · ${new Date(n.at).toISOString()}`;
}

/** Telegram Bot API sendMessage body: plain text (no parse mode, nothing to escape), 4096 characters at most. */
export function telegramPayload(chatId: string, n: Deliverable) {
  const text = `[${LABEL[n.priority]}] ${n.title}\n\n${n.body ? `${n.body}\n\n` : ''}${footer(n)}`;
  return { chat_id: chatId, text: truncate(text, 4096), disable_web_page_preview: true };
}

/** Discord webhook body: one embed coloured by priority; mentions disabled so an event text cannot ping anyone. */
export function discordPayload(n: Deliverable) {
  return {
    username: 'Quorum',
    allowed_mentions: { parse: [] as string[] },
    embeds: [
      {
        title: truncate(`[${LABEL[n.priority]}] ${oneLine(n.title)}`, 256),
        description: truncate(n.body, 4096),
        color: COLOUR[n.priority],
        timestamp: new Date(n.at).toISOString(),
        footer: { text: truncate(n.event, 2048) },
      },
    ],
  };
}

/** Slack's mrkdwn treats &, < and > as markup. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack incoming-webhook body: a plain-text fallback and blocks (header, body, context). */
export function slackPayload(n: Deliverable) {
  const title = `[${LABEL[n.priority]}] ${oneLine(n.title)}`;
  return {
    text: truncate(slackEscape(title), 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, 150) } },
      ...(n.body ? [{ type: 'section', text: { type: 'mrkdwn', text: truncate(slackEscape(n.body), 3000) } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(footer(n)) }] },
    ],
  };
}

/** The generic webhook's JSON body. `sentAt` is inside the signed body, so a replayed request can be told by its age. */
export function webhookPayload(n: Deliverable, sentAt: number) {
  return { schema: 'quorum.notification', v: 1, id: n.id, event: n.event, priority: n.priority, title: n.title, body: n.body, at: n.at, sentAt };
}

/** Email subject and plain-text body. */
export function emailContent(n: Deliverable): { subject: string; text: string } {
  return { subject: truncate(`[Quorum ${LABEL[n.priority]}] ${oneLine(n.title)}`, 200), text: `${n.body ? `${n.body}\n\n` : ''}-- \n${footer(n)}\n` };
}
