import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Quorum-Signature';
export const TIMESTAMP_HEADER = 'X-Quorum-Timestamp';

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the value of X-Quorum-Signature. */
export function signBody(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex')}`;
}

/** What a receiver does: recompute the HMAC of the raw body and compare in constant time. */
export function verifySignature(secret: string, rawBody: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, rawBody));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
