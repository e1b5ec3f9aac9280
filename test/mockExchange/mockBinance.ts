/**
 * A mock Binance spot REST exchange for tests: a real HTTP server on 127.0.0.1 that the real ccxt
 * `binance` class talks to (after `overrideBaseUrl(ex.urls, mock.url)`), with Binance's wire
 * formats, authentication, error codes and HTTP statuses, markets from data/markets.json, prices
 * and klines from data/ohlcv, an account with balances, orders and trades, and fault injection
 * (rate limits, 5xx, slow, hung and lost responses, outages, forced rejections, partial fills).
 *
 * Test code only. See README.md next to this file for what it speaks and how to inject faults.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Decimal } from 'decimal.js';
import { BinanceError, Engine, ERR, parseIntParam, type Balance, type MockOrder, type MockTrade, type PlaceOverrides } from './engine.ts';
import {
  candlesFor,
  DEFAULT_OHLCV_DIR,
  defaultPrice,
  exchangeInfoSymbol,
  fmt8,
  INTERVAL_MS,
  loadMarketsFile,
  marketSpec,
  RATE_LIMITS,
  referenceCandles,
  type MarketJson,
} from './marketData.ts';

export { BinanceError } from './engine.ts';
export type { MockOrder, MockTrade } from './engine.ts';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface MockBinanceOptions {
  /** Expected X-MBX-APIKEY header. Default "mock-api-key". */
  apiKey?: string;
  /** HMAC-SHA256 secret the signatures must be made with. Default "mock-secret". */
  secret?: string;
  /** ccxt-shaped markets; default: the contents of `marketsFile`. */
  markets?: Record<string, MarketJson>;
  /** Default data/markets.json of the project. */
  marketsFile?: string;
  /** Folder of `<BASE>_<QUOTE>-<tf>.csv` candles; default data/ohlcv of the project. */
  ohlcvDir?: string;
  /** Initial prices by ccxt symbol; others default to the last close of their candles, else 1. */
  prices?: Record<string, number | string>;
  /** Initial free balances by asset. Default: nothing. */
  balances?: Record<string, number | string>;
  /** The exchange's clock (serverTime, order and trade times, recvWindow checks). Default Date.now. */
  now?: () => number;
  /** Whether signed requests must carry a timestamp inside their recvWindow (Binance: yes). Default true. */
  checkRecvWindow?: boolean;
  /**
   * Enforce Binance's rate limits (fixed windows, as Binance counts them): over the weight limit
   * a request gets 429 -1003 with Retry-After, over an order limit 429 -1015. Default: not
   * enforced (the X-MBX-USED-WEIGHT-1M / X-MBX-ORDER-COUNT-* headers are always sent).
   */
  limits?: { weightPerMinute?: number; ordersPer10s?: number; ordersPerDay?: number };
}

/** Which requests a fault applies to: "*", "POST /api/v3/order", "GET /api/v3/*", "* /api/v3/order". */
export type FaultMatch = string;

interface FaultCommon {
  /** Default "*" (any request), except insufficientFunds and partialFill: "POST /api/v3/order". */
  match?: FaultMatch;
  /** How many matching requests it applies to. Default 1. */
  times?: number;
  /** Applies to every matching request until clearFaults() (overrides `times`). */
  always?: boolean;
}

export type Fault = FaultCommon &
  (
    | {
        /** Answer with this HTTP status and Binance's body for it, without processing the request. */
        kind: 'status';
        status: number;
        /** Retry-After header (seconds), for 429 and 418. Default 1 for 429, 60 for 418. */
        retryAfterSeconds?: number;
        /** Replace the default body: an object is sent as JSON, a string as text/html. */
        body?: unknown;
      }
    | {
        /** Wait `ms`, then process and answer. With processFirst, process at once and answer after `ms`. */
        kind: 'delay';
        ms: number;
        processFirst?: boolean;
      }
    | {
        /** Never process, never answer: the socket stays open until the client gives up or close(). */
        kind: 'timeout';
      }
    | {
        /** Process the request (an order IS created), then lose the answer. */
        kind: 'lostResponse';
        after?: 'process';
        /** destroy (default): reset the connection; hang: never answer. */
        mode?: 'destroy' | 'hang';
      }
    | {
        /** The next order placement is rejected with -2010 insufficient balance, whatever the balance. */
        kind: 'insufficientFunds';
      }
    | {
        /** The next order placement fills only this fraction (0..1) of its quantity now (rounded down to the lot step). */
        kind: 'partialFill';
        fraction: number;
      }
    | {
        /** Destroy the connection at once, without processing (the exchange is unreachable). */
        kind: 'down';
      }
  );

export type FaultKind = Fault['kind'];

/** A handle on an injected fault. */
export interface FaultHandle {
  /** Matching requests it still applies to (Infinity when `always`). */
  remaining(): number;
  /** Removes it. */
  cancel(): void;
}

export interface RecordedRequest {
  seq: number;
  /** When the request arrived, in ms of the mock's clock. */
  ts: number;
  method: string;
  path: string;
  /** Query and body parameters (query wins), without `signature`. */
  params: Record<string, string>;
  /** HTTP status answered; null while pending, or when the answer was never sent (destroyed, hung). */
  status: number | null;
  outcome: 'pending' | 'answered' | 'destroyed' | 'hung';
  /** Binance error code of the answer, if it was an error. */
  code?: number;
  /** The fault injected into this request, if any. */
  fault?: FaultKind;
}

/** What onRequest hooks see: the request as received, before any fault or processing. */
export interface RequestInfo {
  seq: number;
  ts: number;
  method: string;
  path: string;
  params: Record<string, string>;
}

export type RequestHook = (request: RequestInfo) => void | Promise<void>;

/** An order as the inspection methods hand it out: decimals as exact strings. */
export interface OrderView {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  marketId: string;
  side: 'BUY' | 'SELL';
  type: string;
  timeInForce: string;
  price: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  status: string;
  time: number;
  updateTime: number;
  tradeIds: number[];
}

export interface TradeView {
  id: number;
  orderId: number;
  clientOrderId: string;
  symbol: string;
  marketId: string;
  side: 'BUY' | 'SELL';
  price: string;
  qty: string;
  quoteQty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface MockBinance {
  /** Origin to give overrideBaseUrl, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly apiKey: string;
  readonly secret: string;
  /** Every request received, in order of arrival. */
  readonly requests: readonly RecordedRequest[];
  /** Unexpected errors inside the mock and requests for endpoints it does not serve: a test should expect none. */
  readonly errors: readonly string[];

  // market and account
  setPrice(symbol: string, price: number | string): void;
  price(symbol: string): number;
  setBalance(asset: string, free: number | string): void;
  balance(asset: string): { free: number; locked: number };
  balances(): Record<string, { free: string; locked: string }>;
  /** Whether setPrice fills resting limit orders it crosses (default true). */
  setAutoFill(enabled: boolean): void;
  /** The exchange answers GET /sapi/v1/system/status with maintenance (1) or normal (0). */
  setSystemStatus(status: 'normal' | 'maintenance'): void;

  // orders
  orders(): OrderView[];
  order(ref: string | number): OrderView;
  ordersByClientId(clientOrderId: string): number;
  trades(): TradeView[];
  /** Fills `amount` (default the rest) of an open order: limit at its price (maker), market at the market price. */
  fillOrder(ref: string | number, amount?: number | string): TradeView;
  /** Fills every open limit order (of `symbol`, if given) completely at its own price, whatever the market price. */
  fillLimitOrders(symbol?: string): number;
  /** Ends an open order as EXPIRED (e.g. the unfilled rest of a partially filled market order). */
  expireOrder(ref: string | number): void;

  // faults
  inject(fault: Fault): FaultHandle;
  clearFaults(): void;
  /** Whole-exchange outage: every connection is destroyed on arrival until setDown(false). */
  setDown(down: boolean): void;
  onRequest(hook: RequestHook): () => void;

  // inspection
  /** Largest number of requests (matching `filter`) inside any window of `windowMs`. */
  requestsPerSecondMax(windowMs?: number, filter?: FaultMatch | ((r: RecordedRequest) => boolean)): number;
  /** Forgets the recorded requests and errors (not orders, trades or balances). */
  clearRequests(): void;

  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  body: unknown;
  /** Send `body` (a string) as text/html instead of JSON. */
  html?: boolean;
  headers?: Record<string, string>;
}

interface Ctx {
  method: string;
  path: string;
  params: Record<string, string>;
  rawQuery: string;
  rawBody: string;
  headers: IncomingMessage['headers'];
  overrides: PlaceOverrides;
}

interface Route {
  signed: boolean;
  weight: (p: Record<string, string>) => number;
  /** Counts toward the ORDERS rate limits. */
  order?: boolean;
  handle: (ctx: Ctx) => Reply;
}

interface ActiveFault {
  fault: Fault;
  left: number;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_BODY = 1 << 20;

const ok = (body: unknown): Reply => ({ status: 200, body });

function matches(match: FaultMatch, method: string, path: string): boolean {
  if (match === '*') return true;
  const sp = match.indexOf(' ');
  const m = sp >= 0 ? match.slice(0, sp) : '*';
  const p = sp >= 0 ? match.slice(sp + 1) : match;
  if (m !== '*' && m.toUpperCase() !== method) return false;
  if (p === '*') return true;
  return p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : path === p;
}

/** Binance's answers to the HTTP statuses a test can inject. */
function statusReply(f: Extract<Fault, { kind: 'status' }>): Reply {
  const headers: Record<string, string> = {};
  if (f.status === 429 || f.status === 418) headers['Retry-After'] = String(f.retryAfterSeconds ?? (f.status === 429 ? 1 : 60));
  else if (f.retryAfterSeconds !== undefined) headers['Retry-After'] = String(f.retryAfterSeconds);
  if (f.body !== undefined) return { status: f.status, body: f.body, html: typeof f.body === 'string', headers };
  switch (f.status) {
    case 429:
      return {
        status: 429,
        headers,
        body: { code: -1003, msg: 'Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. Please use the websocket for live updates to avoid polling the API.' },
      };
    case 418:
      return {
        status: 418,
        headers,
        body: { code: -1003, msg: `Way too much request weight used; IP banned until ${Date.now() + 60_000}. Please use WebSocket Streams for live updates to avoid bans.` },
      };
    case 500:
      return { status: 500, headers, body: { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' } };
    case 502:
      return { status: 502, headers, html: true, body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>' };
    case 503:
      return { status: 503, headers, body: { code: -1008, msg: 'Server is currently overloaded with other requests. Please try again in a few minutes.' } };
    case 504:
      return { status: 504, headers, html: true, body: '<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>' };
    default:
      return { status: f.status, headers, body: { code: -1000, msg: 'An unknown error occurred while processing the request.' } };
  }
}

function parseForm(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const [k, v] of new URLSearchParams(raw)) out[k] = v;
  return out;
}

/** The signed payload: query string then body, each without its signature parameter. */
function withoutSignature(raw: string): string {
  if (!raw) return '';
  return raw
    .split('&')
    .filter((kv) => !kv.startsWith('signature='))
    .join('&');
}

function orderJson(o: MockOrder): Record<string, unknown> {
  return {
    symbol: o.marketId,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    price: fmt8(o.price),
    origQty: fmt8(o.origQty),
    executedQty: fmt8(o.executedQty),
    cummulativeQuoteQty: fmt8(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    stopPrice: '0.00000000',
    icebergQty: '0.00000000',
    time: o.time,
    updateTime: o.updateTime,
    isWorking: true,
    workingTime: o.time,
    origQuoteOrderQty: fmt8(o.origQuoteOrderQty),
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

function tradeJson(t: MockTrade): Record<string, unknown> {
  return {
    symbol: t.marketId,
    id: t.id,
    orderId: t.orderId,
    orderListId: -1,
    price: fmt8(t.price),
    qty: fmt8(t.qty),
    quoteQty: fmt8(t.quoteQty),
    commission: fmt8(t.commission),
    commissionAsset: t.commissionAsset,
    time: t.time,
    isBuyer: t.isBuyer,
    isMaker: t.isMaker,
    isBestMatch: true,
  };
}

const orderView = (o: MockOrder): OrderView => ({
  orderId: o.orderId,
  clientOrderId: o.clientOrderId,
  symbol: o.symbol,
  marketId: o.marketId,
  side: o.side,
  type: o.type,
  timeInForce: o.timeInForce,
  price: o.price.toString(),
  origQty: o.origQty.toString(),
  executedQty: o.executedQty.toString(),
  cummulativeQuoteQty: o.cummulativeQuoteQty.toString(),
  status: o.status,
  time: o.time,
  updateTime: o.updateTime,
  tradeIds: [...o.tradeIds],
});

const tradeView = (t: MockTrade): TradeView => ({
  id: t.id,
  orderId: t.orderId,
  clientOrderId: t.clientOrderId,
  symbol: t.symbol,
  marketId: t.marketId,
  side: t.side,
  price: t.price.toString(),
  qty: t.qty.toString(),
  quoteQty: t.quoteQty.toString(),
  commission: t.commission.toString(),
  commissionAsset: t.commissionAsset,
  time: t.time,
  isBuyer: t.isBuyer,
  isMaker: t.isMaker,
});

function toDecimal(v: number | string, what: string): Decimal {
  try {
    const d = new Decimal(String(v));
    if (!d.isFinite()) throw new Error('not finite');
    return d;
  } catch {
    throw new Error(`mock binance: ${what} ${JSON.stringify(v)} is not a number`);
  }
}

class MockBinanceServer implements MockBinance {
  url = '';
  readonly apiKey: string;
  readonly secret: string;
  readonly requests: RecordedRequest[] = [];
  readonly errors: string[] = [];
  private readonly engine: Engine;
  private readonly now: () => number;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly faults: ActiveFault[] = [];
  private readonly hooks = new Set<RequestHook>();
  private readonly routes = new Map<string, Route>();
  private readonly ohlcvDir: string;
  private readonly checkRecvWindow: boolean;
  private readonly limits: NonNullable<MockBinanceOptions['limits']>;
  private down = false;
  private closed = false;
  private systemStatus: 'normal' | 'maintenance' = 'normal';
  private seq = 0;
  // Binance counts weight and orders in fixed windows (per minute, per 10 s, per day).
  private weightWindow = { start: 0, used: 0 };
  private order10sWindow = { start: 0, used: 0 };
  private orderDayWindow = { start: 0, used: 0 };

  constructor(options: MockBinanceOptions) {
    this.apiKey = options.apiKey ?? 'mock-api-key';
    this.secret = options.secret ?? 'mock-secret';
    this.now = options.now ?? Date.now;
    this.ohlcvDir = options.ohlcvDir ?? DEFAULT_OHLCV_DIR;
    this.checkRecvWindow = options.checkRecvWindow ?? true;
    this.limits = options.limits ?? {};
    const markets = options.markets ?? loadMarketsFile(options.marketsFile);
    this.engine = new Engine(Object.values(markets).map(marketSpec), this.now);
    for (const m of this.engine.markets.values()) {
      const given = options.prices?.[m.symbol];
      this.engine.prices.set(m.symbol, given !== undefined ? toDecimal(given, `price of ${m.symbol}`) : defaultPrice(this.ohlcvDir, m.symbol));
    }
    for (const [asset, free] of Object.entries(options.balances ?? {})) this.setBalance(asset, free);
    this.defineRoutes();
    this.server = createServer((req, res) => void this.onHttp(req, res));
    this.server.keepAliveTimeout = 5_000;
    this.server.on('connection', (socket: Socket) => {
      if (this.down || this.closed) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A client error (malformed HTTP) must not crash the process: answer 400 if still possible.
    this.server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"code":-1000,"msg":"Malformed request."}');
      else socket.destroy();
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${addr.port}`;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------------------------

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.handle(req, res);
    } catch (err) {
      this.errors.push(`unhandled: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent && !res.destroyed) this.write(res, { status: 500, body: { code: -1000, msg: 'An unknown error occurred while processing the request.' } });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.down || this.closed) {
      req.socket.destroy();
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const qIndex = rawUrl.indexOf('?');
    const path = qIndex >= 0 ? rawUrl.slice(0, qIndex) : rawUrl;
    const rawQuery = qIndex >= 0 ? rawUrl.slice(qIndex + 1) : '';
    const ts = this.now();
    const record: RecordedRequest = { seq: ++this.seq, ts, method, path, params: {}, status: null, outcome: 'pending' };
    this.requests.push(record);

    let rawBody: string;
    try {
      rawBody = await this.readBody(req);
    } catch {
      this.answer(res, record, { status: 413, body: { code: -1000, msg: 'Request body too large.' } });
      return;
    }
    let params: Record<string, string>;
    try {
      // Binance: a parameter sent in both the query string and the body takes the query's value.
      params = { ...parseForm(rawBody), ...parseForm(rawQuery) };
    } catch {
      this.answer(res, record, { status: 400, body: { code: -1100, msg: 'Illegal characters found in a parameter.' } });
      return;
    }
    const { signature: _sig, ...visible } = params;
    record.params = visible;

    for (const hook of this.hooks) {
      try {
        await hook({ seq: record.seq, ts, method, path, params: { ...visible } });
      } catch (err) {
        this.errors.push(`onRequest hook threw: ${String(err)}`);
      }
    }
    if (this.down || this.closed) {
      record.outcome = 'destroyed';
      req.socket.destroy();
      return;
    }

    const fault = this.takeFault(method, path);
    if (fault) record.fault = fault.kind;
    const ctx: Ctx = { method, path, params, rawQuery, rawBody, headers: req.headers, overrides: {} };
    switch (fault?.kind) {
      case 'down':
        record.outcome = 'destroyed';
        req.socket.destroy();
        return;
      case 'timeout':
        record.outcome = 'hung';
        return; // never answered; close() or the client's abort ends the socket
      case 'status':
        this.answer(res, record, statusReply(fault));
        return;
      case 'insufficientFunds':
        ctx.overrides.forceInsufficient = true;
        break;
      case 'partialFill':
        ctx.overrides.partialFraction = fault.fraction;
        break;
      case 'delay':
        if (!fault.processFirst) await sleep(fault.ms);
        break;
      default:
        break;
    }
    if (this.closed) return;
    const reply = this.process(ctx, record);
    if (fault?.kind === 'lostResponse') {
      // The exchange did the work; the answer never reaches the client.
      if (fault.mode === 'hang') {
        record.outcome = 'hung';
      } else {
        record.outcome = 'destroyed';
        req.socket.destroy();
      }
      return;
    }
    if (fault?.kind === 'delay' && fault.processFirst) await sleep(fault.ms);
    if (this.closed || res.destroyed) {
      record.outcome = 'destroyed';
      return;
    }
    this.answer(res, record, reply);
  }

  private readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          reject(new Error('too large'));
          req.removeAllListeners('data');
          req.resume();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  private answer(res: ServerResponse, record: RecordedRequest, reply: Reply): void {
    record.status = reply.status;
    record.outcome = 'answered';
    const body = reply.body as { code?: unknown } | undefined;
    if (reply.status >= 400 && body && typeof body === 'object' && typeof body.code === 'number') record.code = body.code;
    this.write(res, reply);
  }

  private write(res: ServerResponse, reply: Reply): void {
    if (res.destroyed || res.headersSent) return;
    const text = reply.html ? String(reply.body) : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'Content-Type': reply.html ? 'text/html' : JSON_TYPE,
      'Content-Length': Buffer.byteLength(text),
      ...this.usageHeaders(),
      ...reply.headers,
    });
    res.end(text);
  }

  private usageHeaders(): Record<string, string> {
    return {
      'X-MBX-USED-WEIGHT': String(this.weightWindow.used),
      'X-MBX-USED-WEIGHT-1M': String(this.weightWindow.used),
      'X-MBX-ORDER-COUNT-10S': String(this.order10sWindow.used),
      'X-MBX-ORDER-COUNT-1D': String(this.orderDayWindow.used),
    };
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const isOrderCreate = method === 'POST' && path === '/api/v3/order';
    for (let i = 0; i < this.faults.length; i++) {
      const a = this.faults[i]!;
      const business = a.fault.kind === 'insufficientFunds' || a.fault.kind === 'partialFill';
      if (business && !isOrderCreate) continue;
      if (!matches(a.fault.match ?? (business ? 'POST /api/v3/order' : '*'), method, path)) continue;
      if (!a.fault.always) {
        a.left--;
        if (a.left <= 0) this.faults.splice(i, 1);
      }
      return a.fault;
    }
    return undefined;
  }

  /** Runs a request through the route table: auth, rate limits, the handler; always a Reply. */
  private process(ctx: Ctx, record: RecordedRequest): Reply {
    const route = this.routes.get(`${ctx.method} ${ctx.path}`);
    if (!route) {
      this.errors.push(`no endpoint ${ctx.method} ${ctx.path}`);
      return { status: 404, body: { msg: `mock binance does not serve ${ctx.method} ${ctx.path}` } };
    }
    try {
      const limited = this.countUsage(route, ctx.params);
      if (limited) return limited;
      if (route.signed) this.authenticate(ctx);
      const reply = route.handle(ctx);
      if (route.order && reply.status === 200) this.countOrder();
      return reply;
    } catch (err) {
      if (err instanceof BinanceError) return { status: err.status, body: { code: err.code, msg: err.msg } };
      this.errors.push(`${record.method} ${record.path}: ${(err as Error).stack ?? String(err)}`);
      return { status: 500, body: { code: -1000, msg: 'An unknown error occurred while processing the request.' } };
    }
  }

  private window(w: { start: number; used: number }, lengthMs: number, now: number): void {
    const start = Math.floor(now / lengthMs) * lengthMs;
    if (w.start !== start) {
      w.start = start;
      w.used = 0;
    }
  }

  private countUsage(route: Route, params: Record<string, string>): Reply | undefined {
    const now = this.now();
    this.window(this.weightWindow, 60_000, now);
    this.window(this.order10sWindow, 10_000, now);
    this.window(this.orderDayWindow, 86_400_000, now);
    this.weightWindow.used += route.weight(params);
    const { weightPerMinute, ordersPer10s, ordersPerDay } = this.limits;
    if (weightPerMinute !== undefined && this.weightWindow.used > weightPerMinute) {
      const retry = Math.max(1, Math.ceil((this.weightWindow.start + 60_000 - now) / 1000));
      return {
        status: 429,
        headers: { 'Retry-After': String(retry) },
        body: { code: -1003, msg: `Too much request weight used; current limit is ${weightPerMinute} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.` },
      };
    }
    if (route.order) {
      if (ordersPer10s !== undefined && this.order10sWindow.used >= ordersPer10s) {
        return { status: 429, body: { code: -1015, msg: `Too many new orders; current limit is ${ordersPer10s} orders per 10 SECOND.` } };
      }
      if (ordersPerDay !== undefined && this.orderDayWindow.used >= ordersPerDay) {
        return { status: 429, body: { code: -1015, msg: `Too many new orders; current limit is ${ordersPerDay} orders per DAY.` } };
      }
    }
    return undefined;
  }

  private countOrder(): void {
    this.order10sWindow.used++;
    this.orderDayWindow.used++;
  }

  /** API key, signature (HMAC-SHA256 of query + body without `signature`), timestamp within recvWindow. */
  private authenticate(ctx: Ctx): void {
    const key = ctx.headers['x-mbx-apikey'];
    if (key === undefined || key === '') throw new BinanceError(401, -2014, 'API-key format invalid.');
    if (key !== this.apiKey) throw new BinanceError(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const signature = ctx.params.signature;
    if (signature === undefined || signature === '') throw ERR.mandatory('signature');
    const payload = withoutSignature(ctx.rawQuery) + withoutSignature(ctx.rawBody);
    const expected = createHmac('sha256', this.secret).update(payload).digest('hex');
    const given = Buffer.from(signature.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      throw new BinanceError(400, -1022, 'Signature for this request is not valid.');
    }
    const timestamp = parseIntParam(ctx.params, 'timestamp');
    if (timestamp === undefined) throw ERR.mandatory('timestamp');
    const recvWindow = parseIntParam(ctx.params, 'recvWindow') ?? 5000;
    if (recvWindow > 60_000) throw new BinanceError(400, -1131, 'recvWindow must be less than 60000');
    if (!this.checkRecvWindow) return;
    const now = this.now();
    if (timestamp > now + 1000) throw new BinanceError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.");
    if (now - timestamp > recvWindow) throw new BinanceError(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints
  // -------------------------------------------------------------------------------------------

  private defineRoutes(): void {
    const e = this.engine;
    const add = (key: string, route: Route): void => void this.routes.set(key, route);
    const w = (n: number) => () => n;
    const bySymbol = (one: number, all: number) => (p: Record<string, string>) => (p.symbol ? one : all);

    add('GET /api/v3/ping', { signed: false, weight: w(1), handle: () => ok({}) });
    add('GET /api/v3/time', { signed: false, weight: w(1), handle: () => ok({ serverTime: this.now() }) });
    add('GET /sapi/v1/system/status', {
      signed: false,
      weight: w(1),
      handle: () => ok(this.systemStatus === 'normal' ? { status: 0, msg: 'normal' } : { status: 1, msg: 'system_maintenance' }),
    });
    // ccxt's loadMarkets asks for these (signed) when it has credentials, unless
    // options.fetchMargins is false. The mock has no margin trading: no pairs.
    add('GET /sapi/v1/margin/allPairs', { signed: true, weight: w(1), handle: () => ok([]) });
    add('GET /sapi/v1/margin/isolated/allPairs', { signed: true, weight: w(10), handle: () => ok([]) });
    add('GET /api/v3/exchangeInfo', {
      signed: false,
      weight: w(20),
      handle: ({ params }) => {
        let specs = [...e.markets.values()];
        const wanted = params.symbol ? [params.symbol] : params.symbols ? this.symbolList(params.symbols) : undefined;
        if (wanted) specs = wanted.map((id) => e.marketById(id));
        return ok({ timezone: 'UTC', serverTime: this.now(), rateLimits: RATE_LIMITS, exchangeFilters: [], symbols: specs.map(exchangeInfoSymbol) });
      },
    });
    add('GET /api/v3/ticker/24hr', {
      signed: false,
      weight: (p) => (p.symbol ? 2 : p.symbols ? 40 : 80),
      handle: ({ params }) => this.many(params, (id) => this.ticker24h(id)),
    });
    add('GET /api/v3/ticker/price', {
      signed: false,
      weight: (p) => (p.symbol ? 2 : 4),
      handle: ({ params }) => this.many(params, (id) => ({ symbol: id, price: fmt8(e.price(e.marketById(id).symbol)) })),
    });
    add('GET /api/v3/ticker/bookTicker', {
      signed: false,
      weight: (p) => (p.symbol ? 2 : 4),
      handle: ({ params }) => this.many(params, (id) => this.bookTicker(id)),
    });
    add('GET /api/v3/avgPrice', {
      signed: false,
      weight: w(2),
      handle: ({ params }) => ok({ mins: 5, price: fmt8(e.price(e.marketById(params.symbol).symbol)), closeTime: this.now() }),
    });
    add('GET /api/v3/depth', { signed: false, weight: w(5), handle: ({ params }) => ok(this.depth(params)) });
    add('GET /api/v3/klines', { signed: false, weight: w(2), handle: ({ params }) => ok(this.klines(params)) });

    add('POST /api/v3/order', {
      signed: true,
      weight: w(1),
      order: true,
      handle: ({ params, overrides }) => {
        const { order, fills, respType } = e.place(params, overrides);
        const ack = { symbol: order.marketId, orderId: order.orderId, orderListId: -1, clientOrderId: order.clientOrderId, transactTime: order.time };
        if (respType === 'ACK') return ok(ack);
        const result = {
          ...ack,
          price: fmt8(order.price),
          origQty: fmt8(order.origQty),
          executedQty: fmt8(order.executedQty),
          origQuoteOrderQty: fmt8(order.origQuoteOrderQty),
          cummulativeQuoteQty: fmt8(order.cummulativeQuoteQty),
          status: order.status,
          timeInForce: order.timeInForce,
          type: order.type,
          side: order.side,
          workingTime: order.time,
          selfTradePreventionMode: 'EXPIRE_MAKER',
        };
        if (respType === 'RESULT') return ok(result);
        return ok({
          ...result,
          fills: fills.map((t) => ({ price: fmt8(t.price), qty: fmt8(t.qty), commission: fmt8(t.commission), commissionAsset: t.commissionAsset, tradeId: t.id })),
        });
      },
    });
    add('POST /api/v3/order/test', {
      signed: true,
      weight: w(1),
      handle: ({ params, overrides }) => {
        e.place(params, overrides, true);
        return ok({});
      },
    });
    add('GET /api/v3/order', {
      signed: true,
      weight: w(4),
      handle: ({ params }) => ok(orderJson(this.lookup(params, ERR.noSuchOrder))),
    });
    add('DELETE /api/v3/order', {
      signed: true,
      weight: w(1),
      handle: ({ params }) => {
        const o = this.lookup(params, ERR.unknownOrder);
        if (!e.isOpen(o)) throw ERR.unknownOrder();
        e.close(o, e.market(o.symbol), 'CANCELED');
        return ok(this.cancelJson(o, params.newClientOrderId));
      },
    });
    add('GET /api/v3/openOrders', {
      signed: true,
      weight: bySymbol(6, 80),
      handle: ({ params }) => {
        const id = params.symbol ? e.marketById(params.symbol).id : undefined;
        return ok(e.orders.filter((o) => e.isOpen(o) && (id === undefined || o.marketId === id)).map(orderJson));
      },
    });
    add('DELETE /api/v3/openOrders', {
      signed: true,
      weight: w(1),
      handle: ({ params }) => {
        const m = e.marketById(params.symbol);
        const open = e.orders.filter((o) => e.isOpen(o) && o.marketId === m.id);
        if (open.length === 0) throw ERR.unknownOrder();
        for (const o of open) e.close(o, m, 'CANCELED');
        return ok(open.map((o) => this.cancelJson(o, undefined)));
      },
    });
    add('GET /api/v3/allOrders', {
      signed: true,
      weight: w(20),
      handle: ({ params }) => {
        const m = e.marketById(params.symbol);
        const fromId = parseIntParam(params, 'orderId');
        const start = parseIntParam(params, 'startTime');
        const end = parseIntParam(params, 'endTime');
        const limit = this.limit(params, 500, 1000);
        let list = e.orders.filter((o) => o.marketId === m.id);
        if (fromId !== undefined) list = list.filter((o) => o.orderId >= fromId);
        if (start !== undefined) list = list.filter((o) => o.time >= start);
        if (end !== undefined) list = list.filter((o) => o.time <= end);
        list = fromId !== undefined || start !== undefined ? list.slice(0, limit) : list.slice(-limit);
        return ok(list.map(orderJson));
      },
    });
    add('GET /api/v3/myTrades', {
      signed: true,
      weight: (p) => (p.orderId ? 5 : 20),
      handle: ({ params }) => {
        const m = e.marketById(params.symbol);
        const orderId = parseIntParam(params, 'orderId');
        const fromId = parseIntParam(params, 'fromId');
        const start = parseIntParam(params, 'startTime');
        const end = parseIntParam(params, 'endTime');
        if (fromId !== undefined && (start !== undefined || end !== undefined)) throw ERR.badCombination();
        const limit = this.limit(params, 500, 1000);
        let list = e.trades.filter((t) => t.marketId === m.id);
        if (orderId !== undefined) list = list.filter((t) => t.orderId === orderId);
        if (fromId !== undefined) list = list.filter((t) => t.id >= fromId);
        if (start !== undefined) list = list.filter((t) => t.time >= start);
        if (end !== undefined) list = list.filter((t) => t.time <= end);
        // Oldest first; from a starting point the first `limit`, otherwise the most recent `limit`.
        list = fromId !== undefined || start !== undefined ? list.slice(0, limit) : list.slice(-limit);
        return ok(list.map(tradeJson));
      },
    });
    add('GET /api/v3/account', {
      signed: true,
      weight: w(20),
      handle: ({ params }) => {
        const omitZero = params.omitZeroBalances === 'true';
        const balances = [...e.balances.entries()]
          .filter(([, b]) => !omitZero || !b.free.isZero() || !b.locked.isZero())
          .map(([asset, b]) => ({ asset, free: fmt8(b.free), locked: fmt8(b.locked) }));
        const first = e.markets.values().next().value;
        const taker = first ? first.taker : new Decimal('0.001');
        const maker = first ? first.maker : new Decimal('0.001');
        return ok({
          makerCommission: maker.mul(10000).toNumber(),
          takerCommission: taker.mul(10000).toNumber(),
          buyerCommission: 0,
          sellerCommission: 0,
          commissionRates: { maker: fmt8(maker), taker: fmt8(taker), buyer: '0.00000000', seller: '0.00000000' },
          canTrade: true,
          canWithdraw: true,
          canDeposit: true,
          brokered: false,
          requireSelfTradePrevention: false,
          preventSor: false,
          updateTime: this.now(),
          accountType: 'SPOT',
          balances,
          permissions: ['SPOT'],
          uid: 354937868,
        });
      },
    });
  }

  private symbolList(raw: string): string[] {
    try {
      const list = JSON.parse(raw) as unknown;
      if (Array.isArray(list) && list.every((s) => typeof s === 'string')) return list;
    } catch {
      // fall through
    }
    throw ERR.illegal('symbols', '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$');
  }

  /** Ticker endpoints: one object for `symbol`, an array for `symbols` or for everything. */
  private many(params: Record<string, string>, one: (id: string) => unknown): Reply {
    if (params.symbol) return ok(one(this.engine.marketById(params.symbol).id));
    const ids = params.symbols ? this.symbolList(params.symbols) : [...this.engine.markets.values()].map((m) => m.id);
    return ok(ids.map((id) => one(this.engine.marketById(id).id)));
  }

  private limit(params: Record<string, string>, def: number, max: number): number {
    const l = parseIntParam(params, 'limit') ?? def;
    if (l < 1) throw ERR.illegal('limit', `1..${max}`);
    return Math.min(l, max);
  }

  private lookup(params: Record<string, string>, notFound: () => BinanceError): MockOrder {
    const m = this.engine.marketById(params.symbol);
    const orderId = parseIntParam(params, 'orderId');
    const clientId = params.origClientOrderId || undefined;
    if (orderId === undefined && clientId === undefined) throw ERR.eitherParam('origClientOrderId', 'orderId');
    const o = this.engine.findOrder(m, orderId, clientId);
    if (!o) throw notFound();
    return o;
  }

  private cancelJson(o: MockOrder, newClientOrderId: string | undefined): Record<string, unknown> {
    return {
      symbol: o.marketId,
      // Binance answers a cancel with the original id here and a new id (of the cancel) as clientOrderId.
      origClientOrderId: o.clientOrderId,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId: newClientOrderId ?? `cancel${o.orderId}x${Math.random().toString(36).slice(2, 10)}`,
      transactTime: o.updateTime,
      price: fmt8(o.price),
      origQty: fmt8(o.origQty),
      executedQty: fmt8(o.executedQty),
      origQuoteOrderQty: fmt8(o.origQuoteOrderQty),
      cummulativeQuoteQty: fmt8(o.cummulativeQuoteQty),
      status: o.status,
      timeInForce: o.timeInForce,
      type: o.type,
      side: o.side,
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
  }

  /** 24h statistics from the last day of the market's candles, ending at the current price. */
  private ticker24h(id: string): Record<string, unknown> {
    const m = this.engine.marketById(id);
    const last = this.engine.price(m.symbol);
    const rows = referenceCandles(this.ohlcvDir, m.symbol);
    const end = rows[rows.length - 1]?.ts ?? 0;
    const day = rows.filter((r) => r.ts > end - 86_400_000);
    let open = last;
    let high = last;
    let low = last;
    let volume = new Decimal(0);
    let quoteVolume = new Decimal(0);
    if (day.length > 0) {
      open = new Decimal(day[0]!.open);
      for (const r of day) {
        high = Decimal.max(high, r.high);
        low = Decimal.min(low, r.low);
        volume = volume.plus(r.volume);
        quoteVolume = quoteVolume.plus(new Decimal(r.volume).mul(r.close));
      }
    }
    const now = this.now();
    const change = last.minus(open);
    return {
      symbol: m.id,
      priceChange: fmt8(change),
      priceChangePercent: open.isZero() ? '0.000' : change.div(open).mul(100).toFixed(3),
      weightedAvgPrice: fmt8(volume.isZero() ? last : quoteVolume.div(volume)),
      prevClosePrice: fmt8(open),
      lastPrice: fmt8(last),
      lastQty: fmt8(m.minQty),
      bidPrice: fmt8(last),
      bidQty: fmt8(m.minQty.mul(100)),
      askPrice: fmt8(last),
      askQty: fmt8(m.minQty.mul(100)),
      openPrice: fmt8(open),
      highPrice: fmt8(high),
      lowPrice: fmt8(low),
      volume: fmt8(volume),
      quoteVolume: fmt8(quoteVolume),
      openTime: now - 86_400_000,
      closeTime: now,
      firstId: 1,
      lastId: day.length,
      count: day.length,
    };
  }

  private bookTicker(id: string): Record<string, unknown> {
    const m = this.engine.marketById(id);
    const p = this.engine.price(m.symbol);
    return { symbol: m.id, bidPrice: fmt8(p), bidQty: fmt8(m.minQty.mul(100)), askPrice: fmt8(p), askQty: fmt8(m.minQty.mul(100)) };
  }

  /** A synthetic book around the current price: one tick apart, 100 lots per level. */
  private depth(params: Record<string, string>): Record<string, unknown> {
    const m = this.engine.marketById(params.symbol);
    const levels = this.limit(params, 100, 5000);
    const p = this.engine.price(m.symbol);
    const qty = fmt8(m.minQty.mul(100));
    const bids: string[][] = [];
    const asks: string[][] = [];
    for (let i = 0; i < Math.min(levels, 20); i++) {
      const bid = p.minus(m.tickSize.mul(i + 1));
      if (bid.gt(0)) bids.push([fmt8(bid), qty]);
      asks.push([fmt8(p.plus(m.tickSize.mul(i + 1))), qty]);
    }
    return { lastUpdateId: this.seq, bids, asks };
  }

  /** Candles of the CSV for symbol and interval: from startTime on, or the last `limit` up to endTime. */
  private klines(params: Record<string, string>): unknown[] {
    const m = this.engine.marketById(params.symbol);
    const interval = params.interval;
    if (interval === undefined || interval === '') throw ERR.mandatory('interval');
    const ms = INTERVAL_MS[interval];
    if (ms === undefined) throw new BinanceError(400, -1120, 'Invalid interval.');
    const limit = this.limit(params, 500, 1000);
    const start = parseIntParam(params, 'startTime');
    const end = parseIntParam(params, 'endTime');
    let rows = candlesFor(this.ohlcvDir, m.symbol, interval);
    if (start !== undefined) rows = rows.filter((r) => r.ts >= start);
    if (end !== undefined) rows = rows.filter((r) => r.ts <= end);
    rows = start !== undefined ? rows.slice(0, limit) : rows.slice(-limit);
    return rows.map((r) => [
      r.ts,
      fmt8(new Decimal(r.open)),
      fmt8(new Decimal(r.high)),
      fmt8(new Decimal(r.low)),
      fmt8(new Decimal(r.close)),
      fmt8(new Decimal(r.volume)),
      r.ts + ms - 1,
      fmt8(new Decimal(r.volume).mul(r.close)),
      0,
      '0.00000000',
      '0.00000000',
      '0',
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // Test controls and inspection
  // -------------------------------------------------------------------------------------------

  setPrice(symbol: string, price: number | string): void {
    const d = toDecimal(price, `price of ${symbol}`);
    if (d.lte(0)) throw new Error(`mock binance: price of ${symbol} must be positive, got ${price}`);
    this.engine.setPrice(symbol, d);
  }

  price(symbol: string): number {
    return this.engine.price(this.engine.market(symbol).symbol).toNumber();
  }

  setBalance(asset: string, free: number | string): void {
    const b = this.engine.balanceOf(asset);
    b.free = toDecimal(free, `balance of ${asset}`);
  }

  balance(asset: string): { free: number; locked: number } {
    const b: Balance = this.engine.balanceOf(asset);
    return { free: b.free.toNumber(), locked: b.locked.toNumber() };
  }

  balances(): Record<string, { free: string; locked: string }> {
    const out: Record<string, { free: string; locked: string }> = {};
    for (const [asset, b] of this.engine.balances) out[asset] = { free: b.free.toString(), locked: b.locked.toString() };
    return out;
  }

  setAutoFill(enabled: boolean): void {
    this.engine.autoFillOnCross = enabled;
  }

  setSystemStatus(status: 'normal' | 'maintenance'): void {
    this.systemStatus = status;
  }

  orders(): OrderView[] {
    return this.engine.orders.map(orderView);
  }

  order(ref: string | number): OrderView {
    return orderView(this.engine.orderByRef(ref));
  }

  ordersByClientId(clientOrderId: string): number {
    return this.engine.orders.filter((o) => o.clientOrderId === clientOrderId).length;
  }

  trades(): TradeView[] {
    return this.engine.trades.map(tradeView);
  }

  fillOrder(ref: string | number, amount?: number | string): TradeView {
    return tradeView(this.engine.fillOrder(ref, amount === undefined ? undefined : toDecimal(amount, 'fill amount')));
  }

  fillLimitOrders(symbol?: string): number {
    const e = this.engine;
    const id = symbol === undefined ? undefined : e.market(symbol).id;
    let n = 0;
    for (const o of e.orders) {
      if (!e.isOpen(o) || o.type === 'MARKET' || (id !== undefined && o.marketId !== id)) continue;
      e.fillOrder(o.orderId);
      n++;
    }
    return n;
  }

  expireOrder(ref: string | number): void {
    this.engine.expireOrder(ref);
  }

  inject(fault: Fault): FaultHandle {
    if (fault.kind === 'partialFill' && !(fault.fraction >= 0 && fault.fraction <= 1)) throw new Error(`mock binance: partialFill fraction must be in [0, 1], got ${fault.fraction}`);
    const active: ActiveFault = { fault, left: fault.always ? Infinity : (fault.times ?? 1) };
    this.faults.push(active);
    return {
      remaining: () => (this.faults.includes(active) ? active.left : 0),
      cancel: () => {
        const i = this.faults.indexOf(active);
        if (i >= 0) this.faults.splice(i, 1);
      },
    };
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  setDown(down: boolean): void {
    this.down = down;
    if (down) {
      // Kept-alive connections too: nothing gets through until setDown(false).
      for (const s of this.sockets) s.destroy();
    }
  }

  onRequest(hook: RequestHook): () => void {
    this.hooks.add(hook);
    return () => void this.hooks.delete(hook);
  }

  requestsPerSecondMax(windowMs = 1000, filter?: FaultMatch | ((r: RecordedRequest) => boolean)): number {
    const pick = typeof filter === 'string' ? (r: RecordedRequest) => matches(filter, r.method, r.path) : (filter ?? (() => true));
    const ts = this.requests
      .filter(pick)
      .map((r) => r.ts)
      .sort((a, b) => a - b);
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < ts.length; hi++) {
      while (ts[hi]! - ts[lo]! >= windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  }

  clearRequests(): void {
    this.requests.length = 0;
    this.errors.length = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.faults.length = 0;
    this.hooks.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a mock Binance on 127.0.0.1 on a free port. Remember `await mock.close()`. */
export async function startMockBinance(options: MockBinanceOptions = {}): Promise<MockBinance> {
  const server = new MockBinanceServer(options);
  await server.listen();
  return server;
}
