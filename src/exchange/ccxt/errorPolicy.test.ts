import ccxt from 'ccxt';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCcxt } from './library.ts';
import { ERROR_POLICIES, VenueError, policyOf, venueReason } from './errorPolicy.ts';
import { scrubCredentials } from './venueClient.ts';

describe('error policy of ccxt errors', () => {
  // Production code loads ccxt only where an exchange is used; classifying its errors needs it loaded.
  beforeAll(() => loadCcxt());

  it.each([
    ['RateLimitExceeded', 'throttled', false],
    ['DDoSProtection', 'throttled', false],
    ['RequestTimeout', 'transient', true],
    ['ExchangeNotAvailable', 'transient', true],
    ['OnMaintenance', 'transient', true],
    ['NetworkError', 'transient', true],
    ['InvalidNonce', 'transient', false],
    ['InsufficientFunds', 'permanent', false],
    ['InvalidOrder', 'permanent', false],
    ['AuthenticationError', 'permanent', false],
    ['BadSymbol', 'permanent', false],
    ['OrderNotFound', 'permanent', false],
    ['ExchangeError', 'permanent', false],
  ] as const)('treats %s as %s (outcome unknown: %s)', (name, action, outcomeUnknown) => {
    const Class = (ccxt as unknown as Record<string, new (m: string) => Error>)[name]!;
    const { name: matched, policy } = policyOf(new Class('binance {"code":-1,"msg":"x"}'));
    expect(matched).toBe(name);
    expect(policy).toMatchObject({ action, outcomeUnknown });
  });

  it('lists every class before its ancestors, so the most specific policy wins', () => {
    const classOf = (name: string) => (ccxt as unknown as Record<string, abstract new () => Error>)[name]!;
    ERROR_POLICIES.forEach(([name], i) => {
      expect(typeof classOf(name), name).toBe('function');
      for (const [later] of ERROR_POLICIES.slice(i + 1)) expect(classOf(later).prototype instanceof classOf(name)).toBe(false);
    });
  });

  it("reads Binance's own codes where ccxt's class says less", () => {
    const busy = new ccxt.ExchangeError('binance {"code":-1008,"msg":"Server is currently overloaded with other requests."}');
    expect(policyOf(busy, 'binance').policy).toMatchObject({ action: 'transient', outcomeUnknown: true, breaker: true });
    const duplicate = new ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}');
    expect(policyOf(duplicate, 'binance').policy.action).toBe('exists');
    const revoked = new ccxt.DDoSProtection('binance {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}');
    expect(policyOf(revoked, 'binance')).toMatchObject({ name: 'AuthenticationError', policy: { action: 'permanent', breaker: true } });
  });

  it('retries what it does not know, and looks before sending again', () => {
    expect(policyOf(new TypeError('boom')).policy).toMatchObject({ action: 'transient', outcomeUnknown: true, breaker: false });
  });

  it("keeps the venue's reason and drops URLs with their signed queries", () => {
    expect(venueReason('binance', new Error('binance {"code":-2010,"msg":"Account has insufficient balance for requested action."}'))).toBe('-2010 Account has insufficient balance for requested action.');
    const timeout = new ccxt.RequestTimeout('binance POST https://api.binance.com/api/v3/order?symbol=ETHBTC&signature=abc123 request timed out (10000 ms)');
    const error = VenueError.from('binance', 'createOrder', timeout);
    expect(error.message).toBe('binance createOrder failed (RequestTimeout): POST https://api.binance.com/api/v3/order request timed out (10000 ms)');
    expect(error.message).not.toMatch(/signature/);
    expect(error.retryable).toBe(true);
    expect(VenueError.from('binance', 'createOrder', new ccxt.InsufficientFunds('binance x')).retryable).toBe(false);
  });
});

describe('credentials in a venue error', () => {
  it('are scrubbed from the reason, as is and URL-encoded, when the exchange echoes them back', () => {
    const settings = { apiKey: 'key-ABC123xyz', apiSecret: 'sec/ret+789=' };
    const echo = new ccxt.AuthenticationError(`binance {"code":-2015,"msg":"Invalid API-key key-ABC123xyz (${encodeURIComponent(settings.apiSecret)})"}`);
    const error = VenueError.from('binance', 'createOrder', echo, (text) => scrubCredentials(text, settings));
    expect(error.message).toBe('binance createOrder failed (AuthenticationError): -2015 Invalid API-key [REDACTED] ([REDACTED])');
    expect(scrubCredentials('nothing here', {})).toBe('nothing here');
  });
});
