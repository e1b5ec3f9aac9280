import { describe, expect, it } from 'vitest';
import { classifyHttpStatus, classifyNetworkError, classifySmtpError, retryAfterMs } from './errors.ts';

describe('delivery error taxonomy', () => {
  it('counts any 2xx as delivered', () => {
    expect(classifyHttpStatus('slack', 200, '')).toBeUndefined();
    expect(classifyHttpStatus('discord', 204, '')).toBeUndefined();
  });

  it('fails 4xx at once (a bad token or a deleted webhook does not heal by retrying)', () => {
    for (const status of [400, 401, 403, 404, 410]) expect(classifyHttpStatus('telegram', status, 'Unauthorized')).toMatchObject({ retryable: false, status });
    expect(classifyHttpStatus('telegram', 401, 'Unauthorized')!.message).toBe('telegram: refused (HTTP 401: Unauthorized)');
  });

  it('retries 429 after the time the channel asked for, and 408 and 425', () => {
    expect(classifyHttpStatus('discord', 429, 'slow down', 1500)).toMatchObject({ retryable: true, status: 429, retryAfterMs: 1500 });
    expect(classifyHttpStatus('slack', 408, '')).toMatchObject({ retryable: true });
    expect(classifyHttpStatus('slack', 425, '')).toMatchObject({ retryable: true });
  });

  it('retries 5xx', () => {
    for (const status of [500, 502, 503, 504]) expect(classifyHttpStatus('webhook', status, '')).toMatchObject({ retryable: true, status });
  });

  it('retries a request that got no answer, naming the cause but no URL', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' } });
    expect(classifyNetworkError('slack', refused)).toMatchObject({ retryable: true, message: 'slack: unreachable (ECONNREFUSED)' });
    expect(classifyNetworkError('slack', Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }))).toMatchObject({ retryable: true, message: 'slack: no answer in time' });
  });

  it('fails an SMTP 5xx reply or a failed login at once and retries a 4xx reply or no connection', () => {
    expect(classifySmtpError('email', { responseCode: 550, response: '550 mailbox unavailable' })).toMatchObject({ retryable: false, status: 550 });
    expect(classifySmtpError('email', { code: 'EAUTH', responseCode: 535 })).toMatchObject({ retryable: false });
    expect(classifySmtpError('email', { responseCode: 421, response: '421 try later' })).toMatchObject({ retryable: true });
    expect(classifySmtpError('email', { code: 'ECONNECTION' })).toMatchObject({ retryable: true, message: 'email: unreachable (ECONNECTION)' });
  });

  it('reads Retry-After as seconds, as an HTTP date, or from a JSON retry_after', () => {
    expect(retryAfterMs('2', undefined, 0)).toBe(2000);
    expect(retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', undefined, 1000)).toBe(4000);
    expect(retryAfterMs(null, 0.25, 0)).toBe(250);
    expect(retryAfterMs(null, 'soon', 0)).toBeUndefined();
  });
});
