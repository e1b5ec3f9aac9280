/**
 * A delivery that did not go through, with what decides what happens next: a retryable one is
 * tried again with backoff (after `retryAfterMs` when the channel said how long to wait), a
 * permanent one fails its job at once. Messages are built here, never from a URL, so that no
 * token in a webhook URL can reach a log, a job's failure reason or Bull Board.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    readonly channel: string,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(`${channel}: ${message}`);
  }
}

/**
 * The HTTP taxonomy: 2xx delivered; 429 retryable (after Retry-After); 408 and 425 retryable (the
 * request, not the message, was the problem); other 4xx permanent (a bad token, a deleted webhook,
 * a malformed payload: retrying sends the same thing); 5xx retryable.
 */
export function classifyHttpStatus(channel: string, status: number, detail: string, retryAfterMs?: number): DeliveryError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const what = `HTTP ${status}${detail ? `: ${detail.slice(0, 200)}` : ''}`;
  if (status === 429) return new DeliveryError(channel, `rate limited (${what})`, true, status, retryAfterMs);
  if (status === 408 || status === 425) return new DeliveryError(channel, what, true, status);
  if (status >= 400 && status < 500) return new DeliveryError(channel, `refused (${what})`, false, status);
  return new DeliveryError(channel, what, true, status);
}

/** A request that got no HTTP answer (refused, reset, timed out, DNS): retryable. */
export function classifyNetworkError(channel: string, error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const e = error as { name?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new DeliveryError(channel, 'no answer in time', true);
  const code = e?.cause?.code ?? e?.code;
  return new DeliveryError(channel, `unreachable${code ? ` (${code})` : ''}`, true);
}

/**
 * SMTP: a 5xx reply is permanent (mailbox refused, authentication failed), a 4xx reply is the
 * server asking to come back later, and no reply at all (connection refused, timeout) is retryable.
 */
export function classifySmtpError(channel: string, error: unknown): DeliveryError {
  const e = error as { code?: string; responseCode?: number; response?: string };
  const responseCode = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  if (responseCode !== undefined) {
    const detail = `SMTP ${responseCode}${e.response ? `: ${String(e.response).slice(0, 200)}` : ''}`;
    return new DeliveryError(channel, responseCode >= 500 ? `refused (${detail})` : detail, responseCode < 500, responseCode);
  }
  if (e?.code === 'EAUTH') return new DeliveryError(channel, 'authentication failed', false);
  if (e?.code === 'EENVELOPE' || e?.code === 'EMESSAGE') return new DeliveryError(channel, `refused (${e.code})`, false);
  return new DeliveryError(channel, `unreachable${e?.code ? ` (${e.code})` : ''}`, true);
}

/** Retry-After in milliseconds from a header (seconds or an HTTP date) or a JSON body's retry_after (seconds). */
export function retryAfterMs(header: string | null, bodyRetryAfterSeconds: unknown, now: number): number | undefined {
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  if (typeof bodyRetryAfterSeconds === 'number' && Number.isFinite(bodyRetryAfterSeconds) && bodyRetryAfterSeconds >= 0) return Math.round(bodyRetryAfterSeconds * 1000);
  return undefined;
}
