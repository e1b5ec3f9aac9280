import type { Exchange, Order, Trade } from 'ccxt';
import { loadedCcxt } from './library.ts';
import type { OrderIntent, OrderSide } from '../../core/order.ts';
import { overrideBaseUrl } from './baseUrl.ts';
import { VenueError } from './errorPolicy.ts';

export interface VenueSettings {
  /** ccxt exchange id, e.g. "binance". */
  id: string;
  /** testnet: the exchange's sandbox URLs; live: its production URLs (paper trading on live candles reads these, without keys). */
  mode: 'testnet' | 'live';
  apiKey?: string | undefined;
  apiSecret?: string | undefined;
  baseUrl?: string | undefined;
  timeoutMs: number;
}

/** Where the client reports, so that budget, back-off and breaker (Redis, in src/store) stay outside. */
export interface VenueHooks {
  /** Spend `cost` of the shared request budget before each REST request (waits as needed). */
  take(cost: number): Promise<void>;
  /** The venue answered 429 or 418: everybody waits `retryAfterMs` (the venue's Retry-After, else a default). */
  onThrottled(retryAfterMs: number, status: number): void;
  /** A call failed in a way that says the venue is failing (counts toward the breaker). */
  onVenueFailure(error: VenueError): void;
}

/** An order as the venue reports it, with exact decimal strings. */
export interface VenueOrder {
  id: string;
  clientOrderId: string | undefined;
  symbol: string;
  side: OrderSide;
  type: string;
  amount: string;
  price: string | undefined;
  filled: string;
  status: 'open' | 'closed' | 'canceled' | 'expired' | 'rejected';
  timestamp: number;
}

export interface VenueTrade {
  id: string;
  orderId: string;
  symbol: string;
  side: OrderSide;
  amount: string;
  price: string;
  /** Quote amount the venue settled, when it says. */
  cost: string | undefined;
  fee: string;
  feeCurrency: string | undefined;
  timestamp: number;
}

/** Used when a 429 or 418 comes without Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 60_000;

/**
 * The one place Quorum talks ccxt. Every REST request takes its ccxt cost from the shared budget
 * (ccxt calls `throttle(cost)` before each request when its limiter is enabled; that method is
 * replaced here, because ccxt's own limiter only knows this process), every 429/418 is reported
 * with its Retry-After as it arrives, and every error comes out classified as a VenueError.
 */
export class VenueClient {
  readonly exchange: Exchange;

  constructor(
    readonly settings: VenueSettings,
    private readonly hooks: VenueHooks,
  ) {
    const ccxt = loadedCcxt();
    const Class = (ccxt as unknown as Record<string, new (config: object) => Exchange>)[settings.id];
    if (!ccxt.exchanges.includes(settings.id) || typeof Class !== 'function') throw new Error(`"${settings.id}" is not a ccxt exchange id`);
    this.exchange = new Class({
      apiKey: settings.apiKey,
      secret: settings.apiSecret,
      enableRateLimit: true,
      timeout: settings.timeoutMs,
      options: {
        defaultType: 'spot',
        // Spot only: binance would otherwise load futures and options markets too, and ask a
        // private endpoint for currencies.
        fetchMarkets: { types: ['spot'] },
        fetchCurrencies: false,
        adjustForTimeDifference: false,
        // Margin pairs are of no use to spot trading and cost two signed requests at start-up.
        fetchMargins: false,
      },
    });
    if (settings.mode === 'testnet') this.exchange.setSandboxMode(true);
    if (settings.baseUrl) overrideBaseUrl(this.exchange.urls as { api?: unknown }, settings.baseUrl);
    const ex = this.exchange as unknown as {
      throttle(cost?: number): Promise<unknown>;
      onRestResponse(status: number, statusText: string, url: string, method: string, headers: Record<string, string>, body: string): string;
    };
    ex.throttle = (cost?: number) => hooks.take(cost ?? 1);
    // Called with each response's own headers, before ccxt turns a 429 into an error: no race
    // with concurrent requests over `last_response_headers`.
    ex.onRestResponse = (status, _statusText, _url, _method, headers, body) => {
      if (status === 429 || status === 418) hooks.onThrottled(retryAfterMs(headers) ?? DEFAULT_RETRY_AFTER_MS, status);
      return body.trim();
    };
  }

  get id(): string {
    return this.settings.id;
  }

  /** ccxt's own rate: 1000 / rateLimit cost units per second. */
  get defaultCostPerSecond(): number {
    return 1000 / (this.exchange.rateLimit || 1000);
  }

  loadMarkets(): Promise<Record<string, unknown>> {
    return this.call('loadMarkets', () => this.exchange.loadMarkets() as Promise<Record<string, unknown>>);
  }

  /** Places the order under its client order id. */
  async createOrder(intent: OrderIntent): Promise<VenueOrder> {
    const price = intent.type === 'limit' ? Number(intent.price) : undefined;
    const order = await this.call('createOrder', () => this.exchange.createOrder(intent.symbol, intent.type, intent.side, Number(intent.amount), price, { clientOrderId: intent.clientOrderId }));
    return venueOrder(order, intent.symbol);
  }

  /** The order with this client order id, or undefined when the venue has none. */
  async findOrder(symbol: string, clientOrderId: string): Promise<VenueOrder | undefined> {
    try {
      const order = await this.call('fetchOrder', () => this.exchange.fetchOrder(undefined as unknown as string, symbol, { clientOrderId }));
      return venueOrder(order, symbol);
    } catch (error) {
      if (error instanceof VenueError && error.ccxtClass === 'OrderNotFound') return undefined;
      throw error;
    }
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<void> {
    await this.call('cancelOrder', () => this.exchange.cancelOrder(undefined as unknown as string, symbol, { clientOrderId }));
  }

  async openOrders(symbol?: string): Promise<VenueOrder[]> {
    const orders = await this.call('fetchOpenOrders', () => this.exchange.fetchOpenOrders(symbol));
    return orders.map((o) => venueOrder(o, symbol));
  }

  async orderTrades(symbol: string, orderId: string): Promise<VenueTrade[]> {
    const trades = await this.call('fetchMyTrades', () => this.exchange.fetchMyTrades(symbol, undefined, undefined, { orderId }));
    return trades.map(venueTrade).filter((t) => t.orderId === orderId);
  }

  /** Total (free + locked) per currency. */
  async balances(): Promise<Record<string, string>> {
    const balance = await this.call('fetchBalance', () => this.exchange.fetchBalance());
    const out: Record<string, string> = {};
    for (const [currency, total] of Object.entries((balance.total ?? {}) as unknown as Record<string, number | undefined>)) {
      if (typeof total === 'number' && Number.isFinite(total)) out[currency] = plain(total);
    }
    return out;
  }

  /** Candles as ccxt gives them: [open time, open, high, low, close, volume], oldest first. */
  async candles(symbol: string, timeframe: string, since: number | undefined, limit: number): Promise<unknown[][]> {
    return this.call('fetchOHLCV', () => this.exchange.fetchOHLCV(symbol, timeframe, since, limit) as Promise<unknown[][]>);
  }

  async fetchTime(): Promise<number> {
    return (await this.call('fetchTime', () => this.exchange.fetchTime())) ?? 0;
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const venueError = VenueError.from(this.id, operation, error, (text) => scrubCredentials(text, this.settings));
      if (venueError.policy.breaker) this.hooks.onVenueFailure(venueError);
      throw venueError;
    }
  }
}

/**
 * The venue's reason without the account's key or secret, as is or URL-encoded: an exchange that
 * echoes a credential back in an error must not put it in the ledger, the job, the log or an alert.
 */
export function scrubCredentials(text: string, settings: Pick<VenueSettings, 'apiKey' | 'apiSecret'>): string {
  let out = text;
  for (const secret of [settings.apiKey, settings.apiSecret]) {
    if (!secret || secret.length < 6) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('[REDACTED]');
  }
  return out;
}

function retryAfterMs(headers: Record<string, string | undefined>): number | undefined {
  const raw = headers['Retry-After'] ?? headers['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** A ccxt number as a plain decimal string (ccxt parses the venue's strings to doubles; String() gives the shortest round trip). */
function plain(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '0';
  const s = String(n);
  return /e/i.test(s) ? n.toFixed(20).replace(/\.?0+$/, '') : s;
}

const STATUSES = new Set(['open', 'closed', 'canceled', 'expired', 'rejected']);

function venueOrder(o: Order, symbol: string | undefined): VenueOrder {
  const status = STATUSES.has(String(o.status)) ? (o.status as VenueOrder['status']) : 'open';
  return {
    id: String(o.id),
    clientOrderId: o.clientOrderId ?? undefined,
    symbol: o.symbol ?? symbol ?? '',
    side: o.side === 'sell' ? 'sell' : 'buy',
    type: String(o.type ?? 'market'),
    amount: plain(o.amount),
    price: o.price === undefined || o.price === null ? undefined : plain(o.price),
    filled: plain(o.filled ?? 0),
    status,
    timestamp: o.timestamp ?? Date.now(),
  };
}

function venueTrade(t: Trade): VenueTrade {
  return {
    id: String(t.id),
    orderId: String(t.order),
    symbol: t.symbol ?? '',
    side: t.side === 'sell' ? 'sell' : 'buy',
    amount: plain(t.amount),
    price: plain(t.price),
    cost: typeof t.cost === 'number' && Number.isFinite(t.cost) && t.cost > 0 ? plain(t.cost) : undefined,
    fee: plain(t.fee?.cost ?? 0),
    feeCurrency: t.fee?.currency ?? undefined,
    timestamp: t.timestamp ?? Date.now(),
  };
}
