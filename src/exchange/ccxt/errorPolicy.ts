import { ccxtIfLoaded } from './library.ts';
import { QuorumError } from '../../core/errors.ts';

/**
 * What to do about an error from a ccxt call:
 * - throttled: the venue refused for rate (429, 418, DDoS protection); it did not process the
 *   request. Back off every process and the whole queue by the venue's Retry-After; the attempt
 *   does not count as a failure.
 * - transient: trying again later can succeed (network, timeout, venue unavailable, bad response);
 *   exponential backoff with jitter.
 * - exists: the venue already has an order with this client order id; look it up and adopt it.
 * - permanent: the same request would fail the same way (invalid order, insufficient funds,
 *   authentication, bad symbol); fail at once with the venue's reason.
 */
/** The ccxt error classes the policy table names. */
type CcxtErrorName =
  | 'RateLimitExceeded' | 'DDoSProtection' | 'RequestTimeout' | 'OnMaintenance' | 'ExchangeNotAvailable' | 'InvalidNonce' | 'NetworkError' | 'BadResponse'
  | 'CancelPending' | 'OperationFailed' | 'DuplicateOrderId' | 'OrderNotFound' | 'InsufficientFunds' | 'InvalidOrder' | 'AuthenticationError' | 'BadSymbol'
  | 'BadRequest' | 'ArgumentsRequired' | 'NotSupported' | 'OperationRejected' | 'ExchangeError';

export type ErrorAction = 'throttled' | 'transient' | 'exists' | 'permanent';

export interface ErrorPolicy {
  action: ErrorAction;
  /** A create that failed this way may still have been placed: look it up before anything else. */
  outcomeUnknown: boolean;
  /** Counts toward opening the circuit breaker: the venue itself is failing, not one order. */
  breaker: boolean;
}

/**
 * The one table from ccxt error class to policy, most specific class first (ccxt's classes form
 * a hierarchy: RateLimitExceeded is a NetworkError, DuplicateOrderId an InvalidOrder, ...), by
 * name: the classes are ccxt's, which is loaded only where an exchange is used (./library.ts).
 */
export const ERROR_POLICIES: readonly (readonly [CcxtErrorName, ErrorPolicy])[] = [
  ['RateLimitExceeded', { action: 'throttled', outcomeUnknown: false, breaker: false }],
  ['DDoSProtection', { action: 'throttled', outcomeUnknown: false, breaker: false }],
  ['RequestTimeout', { action: 'transient', outcomeUnknown: true, breaker: true }],
  ['OnMaintenance', { action: 'transient', outcomeUnknown: true, breaker: true }],
  // Binance: a 5xx means "the execution status is unknown": the order may exist.
  ['ExchangeNotAvailable', { action: 'transient', outcomeUnknown: true, breaker: true }],
  // Refused before processing (clock skew): nothing was placed.
  ['InvalidNonce', { action: 'transient', outcomeUnknown: false, breaker: true }],
  ['NetworkError', { action: 'transient', outcomeUnknown: true, breaker: true }],
  ['BadResponse', { action: 'transient', outcomeUnknown: true, breaker: true }],
  ['CancelPending', { action: 'transient', outcomeUnknown: false, breaker: false }],
  ['OperationFailed', { action: 'transient', outcomeUnknown: true, breaker: true }],
  ['DuplicateOrderId', { action: 'exists', outcomeUnknown: false, breaker: false }],
  // A lookup by client order id that finds nothing: an answer, not a failure.
  ['OrderNotFound', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  ['InsufficientFunds', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  ['InvalidOrder', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  // Revoked or wrong keys make the venue unusable for every order: that opens the breaker too.
  ['AuthenticationError', { action: 'permanent', outcomeUnknown: false, breaker: true }],
  ['BadSymbol', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  ['BadRequest', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  ['ArgumentsRequired', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  ['NotSupported', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  ['OperationRejected', { action: 'permanent', outcomeUnknown: false, breaker: false }],
  ['ExchangeError', { action: 'permanent', outcomeUnknown: false, breaker: false }],
];

/**
 * Where ccxt's class says less than the venue's own error code (asserted against the mock
 * exchange in test/mockExchange): Binance's 503 "server busy" comes out as a plain ExchangeError,
 * "Duplicate order sent." as InvalidOrder, and a revoked key after a good call as DDoSProtection.
 */
const VENUE_CODES: Record<string, Record<string, readonly [string, ErrorPolicy]>> = {
  binance: {
    // "Internal error; unable to process your request": the execution status is unknown.
    '-1001': ['venue -1001 (disconnected)', { action: 'transient', outcomeUnknown: true, breaker: true }],
    // "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
    '-1007': ['venue -1007 (backend timeout)', { action: 'transient', outcomeUnknown: true, breaker: true }],
    // "Server is currently overloaded with other requests. Please try again in a few minutes."
    '-1008': ['venue -1008 (server busy)', { action: 'transient', outcomeUnknown: true, breaker: true }],
    '-2015': ['AuthenticationError', { action: 'permanent', outcomeUnknown: false, breaker: true }],
    '-1022': ['AuthenticationError', { action: 'permanent', outcomeUnknown: false, breaker: true }],
  },
};

const DUPLICATE_ORDER = /duplicate order/i;

/** Not a ccxt error (a bug of ours, or something ccxt did not classify): retry, and look before re-sending. */
const UNCLASSIFIED: ErrorPolicy = { action: 'transient', outcomeUnknown: true, breaker: false };

export function policyOf(error: unknown, venue = ''): { name: string; policy: ErrorPolicy } {
  const reason = venueReason(venue, error);
  const code = /^(-?\d+) /.exec(reason)?.[1];
  const byCode = code === undefined ? undefined : VENUE_CODES[venue]?.[code];
  if (byCode) return { name: byCode[0], policy: byCode[1] };
  if (DUPLICATE_ORDER.test(reason)) return { name: 'DuplicateOrderId', policy: ERROR_POLICIES.find(([n]) => n === 'DuplicateOrderId')![1] };
  const ccxt = ccxtIfLoaded();
  if (ccxt) for (const [name, policy] of ERROR_POLICIES) if (error instanceof ccxt[name]) return { name, policy };
  return { name: error instanceof Error ? error.name : typeof error, policy: UNCLASSIFIED };
}

/**
 * An error from the venue, classified. Its message is the venue's reason without request URLs
 * (they carry signed query strings); `retryable` follows the policy, so the job layer needs no
 * knowledge of ccxt.
 */
export class VenueError extends QuorumError {
  constructor(
    readonly venue: string,
    readonly operation: string,
    readonly ccxtClass: string,
    readonly policy: ErrorPolicy,
    reason: string,
  ) {
    super(`${venue} ${operation} failed (${ccxtClass}): ${reason}`, `venue.${policy.action}`, policy.action !== 'permanent');
  }

  /** `scrub` removes the account's credentials from the venue's words: some exchanges echo the key back. */
  static from(venue: string, operation: string, error: unknown, scrub: (text: string) => string = (t) => t): VenueError {
    if (error instanceof VenueError) return error;
    const { name, policy } = policyOf(error, venue);
    return new VenueError(venue, operation, name, policy, scrub(venueReason(venue, error)));
  }
}

/**
 * The venue's own words: ccxt puts the exchange id and the raw body in the message
 * ('binance {"code":-2010,"msg":"..."}'); this keeps code and msg and drops URLs and queries.
 */
export function venueReason(venue: string, error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const body = raw.startsWith(`${venue} `) ? raw.slice(venue.length + 1) : raw;
  try {
    const parsed = JSON.parse(body) as { code?: unknown; msg?: unknown; message?: unknown };
    const msg = parsed.msg ?? parsed.message;
    if (typeof msg === 'string') return parsed.code !== undefined ? `${String(parsed.code)} ${msg}` : msg;
  } catch {
    // not JSON: fall through
  }
  return body.replace(/https?:\/\/\S+/g, (url) => url.replace(/\?.*$/, '')).slice(0, 500);
}
