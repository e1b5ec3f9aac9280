import { createHash } from 'node:crypto';

/**
 * Two notifications are duplicates when they have the same event and the same dedupe key; a
 * message without a key is keyed by its title and body (the same alert said twice). Hashed, so
 * the Redis key is short and holds no text of the event.
 */
export function dedupeKeyOf(n: { event: string; dedupeKey?: string | undefined; title: string; body: string }): string {
  const key = n.dedupeKey ?? `${n.title}\n${n.body}`;
  return createHash('sha256').update(`${n.event}\n${key}`).digest('hex').slice(0, 32);
}
