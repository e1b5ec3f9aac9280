import type { Transporter } from 'nodemailer';
import { scrubber } from '../infra/logger.ts';
import { classifyHttpStatus, classifyNetworkError, classifySmtpError, DeliveryError, retryAfterMs } from './errors.ts';
import { discordPayload, emailContent, slackPayload, telegramPayload, webhookPayload, type Deliverable } from './format.ts';
import type { Priority } from './priority.ts';
import type { ChannelName, ChannelSpec } from './settings.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody } from './signature.ts';

/** One delivery channel. `send` resolves once the channel accepted the message, or throws a DeliveryError. */
export interface Notifier {
  readonly name: ChannelName;
  readonly minPriority: Priority;
  send(n: Deliverable): Promise<void>;
  close(): Promise<void>;
}

/** Builds the notifier of a resolved channel. Its secrets live in this object only. */
export function createNotifier(spec: ChannelSpec, timeoutMs: number): Notifier {
  const scrub = scrubber(spec.secrets);
  const guarded = (send: (n: Deliverable) => Promise<void>) => async (n: Deliverable) => {
    try {
      await send(n);
    } catch (error) {
      const e = error instanceof DeliveryError ? error : classifyNetworkError(spec.name, error);
      // Built from our own text, scrubbed again in case a server echoed a secret back.
      throw new DeliveryError(spec.name, scrub(e.message.slice(spec.name.length + 2)), e.retryable, e.status, e.retryAfterMs);
    }
  };
  const base = { name: spec.name, minPriority: spec.minPriority, close: async () => {} };
  switch (spec.name) {
    case 'telegram':
      return { ...base, send: guarded((n) => postJson(spec.name, spec.url, JSON.stringify(telegramPayload(spec.chatId, n)), {}, timeoutMs)) };
    case 'discord':
      return { ...base, send: guarded((n) => postJson(spec.name, spec.url, JSON.stringify(discordPayload(n)), {}, timeoutMs)) };
    case 'slack':
      return { ...base, send: guarded((n) => postJson(spec.name, spec.url, JSON.stringify(slackPayload(n)), {}, timeoutMs)) };
    case 'webhook':
      return {
        ...base,
        send: guarded((n) => {
          const sentAt = Date.now();
          const raw = JSON.stringify(webhookPayload(n, sentAt));
          return postJson(spec.name, spec.url, raw, { [SIGNATURE_HEADER]: signBody(spec.secret, raw), [TIMESTAMP_HEADER]: String(sentAt) }, timeoutMs);
        }),
      };
    case 'email': {
      // nodemailer is loaded by the first email sent: only a process that delivers email pays its memory.
      let transport: Promise<Transporter> | undefined;
      const transportOnce = () =>
        (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
          nodemailer.createTransport({
            host: spec.host,
            port: spec.port,
            secure: spec.secure,
            ...(spec.user ? { auth: { user: spec.user, pass: spec.password ?? '' } } : {}),
            connectionTimeout: timeoutMs,
            greetingTimeout: timeoutMs,
            socketTimeout: timeoutMs,
          }),
        ));
      return {
        ...base,
        send: async (n) => {
          const { subject, text } = emailContent(n);
          try {
            await (await transportOnce()).sendMail({ from: spec.from, to: spec.to, subject, text, headers: { 'X-Quorum-Event': n.event, 'X-Quorum-Priority': n.priority } });
          } catch (error) {
            const e = classifySmtpError(spec.name, error);
            throw new DeliveryError(spec.name, scrub(e.message.slice(spec.name.length + 2)), e.retryable, e.status);
          }
        },
        close: async () => (await transport)?.close(),
      };
    }
  }
}

/** POSTs a JSON body; any 2xx is delivered, the rest goes through the HTTP taxonomy. Redirects are refused (a token must not follow one). */
async function postJson(channel: string, url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'quorum-notify', ...headers },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = (await response.text().catch(() => '')).slice(0, 2000);
  if (response.ok) return;
  let parsed: { description?: unknown; message?: unknown; retry_after?: unknown; parameters?: { retry_after?: unknown } } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON: the text itself is the detail.
  }
  const detail = typeof parsed.description === 'string' ? parsed.description : typeof parsed.message === 'string' ? parsed.message : text.replace(/\s+/g, ' ').trim();
  const wait = retryAfterMs(response.headers.get('retry-after'), parsed.parameters?.retry_after ?? parsed.retry_after, Date.now());
  throw classifyHttpStatus(channel, response.status, detail, wait)!;
}
