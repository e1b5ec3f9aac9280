/**
 * The mock Binance against the real ccxt binance class, over real HTTP, built the way production
 * builds it (src/exchange/ccxt): the error classes asserted here are what ccxt really raises for
 * each answer, and are the table of test/mockExchange/README.md.
 */
import { connect } from 'node:net';
import ccxt, { type Exchange } from 'ccxt';
import { Decimal } from 'decimal.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { overrideBaseUrl } from '../../src/exchange/ccxt/baseUrl.ts';
import { loadMarketsFile } from './marketData.ts';
import { startMockBinance, type MockBinance, type MockBinanceOptions } from './mockBinance.ts';

interface ClientOptions {
  apiKey?: string;
  secret?: string;
  timeout?: number;
  options?: Record<string, unknown>;
}

/** A ccxt binance client exactly as production builds one, pointed at the mock. */
function client(mock: MockBinance, o: ClientOptions = {}): Exchange {
  const ex = new ccxt.binance({
    apiKey: o.apiKey ?? mock.apiKey,
    secret: o.secret ?? mock.secret,
    enableRateLimit: false,
    timeout: o.timeout ?? 2000,
    options: { defaultType: 'spot', fetchMarkets: { types: ['spot'] }, fetchCurrencies: false, adjustForTimeDifference: false, ...o.options },
  });
  overrideBaseUrl(ex.urls, mock.url);
  return ex;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, got a result');
}

/** Most specific ccxt class name of an error, e.g. "InvalidOrder". */
const cls = (err: Error): string => err.constructor.name;

const D = (v: string | number | undefined) => new Decimal(String(v ?? 0));

let mock: MockBinance;
let ex: Exchange;

async function setup(options: MockBinanceOptions = {}, clientOptions: ClientOptions = {}): Promise<void> {
  mock = await startMockBinance({ balances: { BTC: '1', ETH: '10', ADA: '0' }, prices: { 'ETH/BTC': '0.05' }, ...options });
  ex = client(mock, clientOptions);
  await ex.loadMarkets();
}

afterEach(async () => {
  // The mock must never have failed inside, nor been asked for an endpoint it does not serve.
  const errors = mock ? [...mock.errors] : [];
  await mock?.close();
  expect(errors).toEqual([]);
});

describe('markets and market data', () => {
  beforeEach(() => setup());

  it('loadMarkets: every market of data/markets.json, with its precision, limits and fees', async () => {
    const file = loadMarketsFile();
    expect(Object.keys(ex.markets!).sort()).toEqual(Object.keys(file).sort());
    for (const [symbol, m] of Object.entries(file)) {
      const got = ex.markets![symbol]!;
      expect(got.id).toBe(`${m.base}${m.quote}`);
      expect(got.spot).toBe(true);
      expect(got.active).toBe(true);
      expect(got.precision.amount).toBe(Number(m.precision.amount));
      expect(got.precision.price).toBe(Number(m.precision.price));
      expect(got.limits.amount?.min).toBe(Number(m.limits.amount.min));
      expect(got.limits.amount?.max).toBe(Number(m.limits.amount.max));
      expect(got.limits.cost?.min).toBe(Number(m.limits.cost?.min));
      expect(got.taker).toBe(Number(m.taker));
      expect(got.maker).toBe(Number(m.maker));
    }
    // With credentials ccxt also asks the (signed) margin pair lists: served, empty.
    expect(mock.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual(['GET /api/v3/exchangeInfo', 'GET /sapi/v1/margin/allPairs', 'GET /sapi/v1/margin/isolated/allPairs']);
  });

  it('fetchTime, fetchTicker, fetchStatus', async () => {
    const before = Date.now();
    const t = await ex.fetchTime();
    expect(t).toBeGreaterThanOrEqual(before);
    mock.setPrice('ETH/BTC', '0.06');
    const ticker = await ex.fetchTicker('ETH/BTC');
    expect(ticker.last).toBe(0.06);
    expect(ticker.symbol).toBe('ETH/BTC');
    expect((await ex.fetchStatus()).status).toBe('ok');
    mock.setSystemStatus('maintenance');
    expect((await ex.fetchStatus()).status).toBe('maintenance');
  });

  it('default prices are the last close of data/ohlcv/<BASE>_<QUOTE>-5m.csv', async () => {
    const lastLine = (await import('node:fs')).readFileSync(new URL('../../data/ohlcv/ADA_BTC-5m.csv', import.meta.url), 'utf8').trim().split('\n').pop()!;
    expect(mock.price('ADA/BTC')).toBe(Number(lastLine.split(',')[4]));
    expect((await ex.fetchTicker('ADA/BTC')).last).toBe(Number(lastLine.split(',')[4]));
  });

  it('fetchOHLCV: the CSV candles, honouring interval, since and limit; coarser intervals aggregated', async () => {
    const rows = (await import('node:fs'))
      .readFileSync(new URL('../../data/ohlcv/ETH_BTC-5m.csv', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number));
    const since = rows[10]![0]!;
    const got = await ex.fetchOHLCV('ETH/BTC', '5m', since, 3);
    expect(got).toEqual(rows.slice(10, 13));
    // No since: the most recent candles.
    const last = await ex.fetchOHLCV('ETH/BTC', '5m', undefined, 2);
    expect(last).toEqual(rows.slice(-2));
    // 1h from 5m: open of the first, close of the last, max high, min low, summed volume.
    const hourStart = Math.ceil(rows[0]![0]! / 3_600_000) * 3_600_000;
    const [h] = await ex.fetchOHLCV('ETH/BTC', '1h', hourStart, 1);
    const inHour = rows.filter((r) => r[0]! >= hourStart && r[0]! < hourStart + 3_600_000);
    expect(h![0]).toBe(hourStart);
    expect(h![1]).toBe(inHour[0]![1]);
    expect(h![4]).toBe(inHour[inHour.length - 1]![4]);
    expect(h![2]).toBe(Math.max(...inHour.map((r) => r[2]!)));
    expect(h![3]).toBe(Math.min(...inHour.map((r) => r[3]!)));
    // A market with 1m and 30m files serves both.
    expect((await ex.fetchOHLCV('UNITTEST/BTC', '1m', undefined, 5)).length).toBe(5);
    expect((await ex.fetchOHLCV('UNITTEST/BTC', '30m', undefined, 5)).length).toBe(5);
  });
});

describe('orders and account', () => {
  beforeEach(() => setup());

  it('market buy: filled at the price, fetchOrder by id and by origClientOrderId, balance moves by cost and commission exactly', async () => {
    const before = await ex.fetchBalance();
    const order = await ex.createOrder('ETH/BTC', 'market', 'buy', 2, undefined, { newClientOrderId: 'q-buy-1' });
    expect(order.status).toBe('closed');
    expect(order.clientOrderId).toBe('q-buy-1');
    expect(order.filled).toBe(2);
    expect(order.cost).toBe(0.1);
    expect(order.fee).toEqual({ currency: 'ETH', cost: 0.002 });

    const byId = await ex.fetchOrder(order.id!, 'ETH/BTC');
    const byClientId = await ex.fetchOrder(undefined as unknown as string, 'ETH/BTC', { origClientOrderId: 'q-buy-1' });
    for (const o of [byId, byClientId]) {
      expect(o.id).toBe(order.id);
      expect(o.clientOrderId).toBe('q-buy-1');
      expect(o.status).toBe('closed');
      expect(o.filled).toBe(2);
      expect(o.cost).toBe(0.1);
    }

    const after = await ex.fetchBalance();
    // Buy: pays the cost in BTC, receives ETH minus the commission (charged in ETH, taker 0.1%).
    expect(D(after.BTC?.free).minus(D(before.BTC?.free)).toString()).toBe('-0.1');
    expect(D(after.ETH?.free).minus(D(before.ETH?.free)).toString()).toBe('1.998');
    expect(mock.balances().BTC).toEqual({ free: '0.9', locked: '0' });
    expect(mock.orders()).toHaveLength(1);
    expect(mock.ordersByClientId('q-buy-1')).toBe(1);
  });

  it('market sell: commission in the quote asset; market buy by cost (quoteOrderQty)', async () => {
    const sell = await ex.createOrder('ETH/BTC', 'market', 'sell', 1, undefined, { newClientOrderId: 'q-sell-1' });
    expect(sell.fee).toEqual({ currency: 'BTC', cost: 0.00005 });
    expect(mock.balances().BTC!.free).toBe('1.04995'); // 1 + 0.05 - 0.00005
    expect(mock.balances().ETH!.free).toBe('9');
    // ccxt turns (amount, price) of a market buy into quoteOrderQty = amount * price.
    const byCost = await ex.createOrder('ETH/BTC', 'market', 'buy', 1, 0.05);
    expect(mock.requests.at(-1)!.params.quoteOrderQty).toBe('0.05');
    expect(byCost.filled).toBe(1);
  });

  it('order ids increase; ccxt generates a client id when none is given', async () => {
    const a = await ex.createOrder('ETH/BTC', 'market', 'buy', 0.1);
    const b = await ex.createOrder('ETH/BTC', 'market', 'buy', 0.1);
    expect(Number(b.id)).toBeGreaterThan(Number(a.id));
    expect(a.clientOrderId).toMatch(/^x-TKT5PX2F/);
  });

  it('limit order rests, locks funds, shows in fetchOpenOrders, and is cancelled by id and by origClientOrderId', async () => {
    const buy = await ex.createOrder('ETH/BTC', 'limit', 'buy', 2, 0.04, { newClientOrderId: 'q-lim-1' });
    expect(buy.status).toBe('open');
    expect(buy.filled).toBe(0);
    const sell = await ex.createOrder('ETH/BTC', 'limit', 'sell', 1, 0.07, { newClientOrderId: 'q-lim-2' });
    expect(mock.balances().BTC).toEqual({ free: '0.92', locked: '0.08' });
    expect(mock.balances().ETH).toEqual({ free: '9', locked: '1' });
    const bal = await ex.fetchBalance();
    expect(bal.BTC).toEqual({ free: 0.92, used: 0.08, total: 1 });

    const open = await ex.fetchOpenOrders('ETH/BTC');
    expect(open.map((o) => o.clientOrderId).sort()).toEqual(['q-lim-1', 'q-lim-2']);

    // Without a symbol ccxt refuses by default (a warning about the 80-weight request)...
    const warned = await caught(ex.fetchOpenOrders());
    expect(cls(warned)).toBe('ExchangeError');
    expect(warned.message).toContain('warnWithoutSymbol');
    // ...unless told not to.
    const all = client(mock, { options: { fetchOpenOrders: { warnWithoutSymbol: false } } });
    expect((await all.fetchOpenOrders()).length).toBe(2);

    const c1 = await ex.cancelOrder(buy.id!, 'ETH/BTC');
    expect(c1.status).toBe('canceled');
    expect(c1.id).toBe(buy.id);
    // Binance answers a cancel with a new clientOrderId (the cancel's); the order's is origClientOrderId.
    expect(c1.clientOrderId).not.toBe('q-lim-1');
    expect(c1.info.origClientOrderId).toBe('q-lim-1');
    const c2 = await ex.cancelOrder(undefined as unknown as string, 'ETH/BTC', { origClientOrderId: 'q-lim-2' });
    expect(c2.status).toBe('canceled');
    expect(c2.id).toBe(sell.id);
    expect(mock.balances().BTC).toEqual({ free: '1', locked: '0' });
    expect(mock.balances().ETH).toEqual({ free: '10', locked: '0' });
    expect(await ex.fetchOpenOrders('ETH/BTC')).toEqual([]);
    expect((await ex.fetchOrder(buy.id!, 'ETH/BTC')).status).toBe('canceled');

    // Cancelling again, or an order that never was: -2011 Unknown order sent.
    expect(cls(await caught(ex.cancelOrder(buy.id!, 'ETH/BTC')))).toBe('OrderNotFound');
    expect(cls(await caught(ex.cancelOrder('999999', 'ETH/BTC')))).toBe('OrderNotFound');
    // Fetching an order that does not exist: -2013 Order does not exist.
    expect(cls(await caught(ex.fetchOrder('999999', 'ETH/BTC')))).toBe('OrderNotFound');
    expect(cls(await caught(ex.fetchOrder(undefined as unknown as string, 'ETH/BTC', { origClientOrderId: 'nope' })))).toBe('OrderNotFound');
  });

  it('a resting limit order fills as maker when the price crosses it, at its own price', async () => {
    const buy = await ex.createOrder('ETH/BTC', 'limit', 'buy', 1, 0.045, { newClientOrderId: 'q-cross' });
    mock.setPrice('ETH/BTC', '0.046');
    expect((await ex.fetchOrder(buy.id!, 'ETH/BTC')).status).toBe('open');
    mock.setPrice('ETH/BTC', '0.044');
    const filled = await ex.fetchOrder(buy.id!, 'ETH/BTC');
    expect(filled.status).toBe('closed');
    expect(filled.cost).toBe(0.045);
    const [trade] = await ex.fetchMyTrades('ETH/BTC', undefined, undefined, { orderId: buy.id });
    expect(trade!.takerOrMaker).toBe('maker');
    expect(trade!.price).toBe(0.045);
    expect(mock.balances().BTC).toEqual({ free: '0.955', locked: '0' });
  });

  it('a marketable limit order fills at once at the market price (taker); fillLimitOrders fills the resting ones', async () => {
    const taker = await ex.createOrder('ETH/BTC', 'limit', 'buy', 1, 0.06);
    expect(taker.status).toBe('closed');
    expect(taker.average).toBe(0.05);
    expect(mock.balances().BTC).toEqual({ free: '0.95', locked: '0' }); // the price improvement is not locked
    mock.setAutoFill(false);
    await ex.createOrder('ETH/BTC', 'limit', 'sell', 1, 0.08);
    mock.setPrice('ETH/BTC', '0.09');
    expect((await ex.fetchOpenOrders('ETH/BTC')).length).toBe(1);
    expect(mock.fillLimitOrders('ETH/BTC')).toBe(1);
    expect(await ex.fetchOpenOrders('ETH/BTC')).toEqual([]);
  });

  it('fetchMyTrades with orderId and fetchOrderTrades return the fills with their fee', async () => {
    const a = await ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-t-1' });
    await ex.createOrder('ETH/BTC', 'market', 'sell', 0.5);
    const trades = await ex.fetchMyTrades('ETH/BTC', undefined, undefined, { orderId: a.id });
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({ order: a.id, side: 'buy', amount: 1, price: 0.05, cost: 0.05, fee: { currency: 'ETH', cost: 0.001 }, takerOrMaker: 'taker' });
    expect(await ex.fetchOrderTrades(a.id!, 'ETH/BTC')).toHaveLength(1);
    expect(await ex.fetchMyTrades('ETH/BTC')).toHaveLength(2);
    expect(await ex.fetchMyTrades('ETH/BTC', undefined, 1)).toHaveLength(1);
    expect(mock.trades().map((t) => [t.side, t.commissionAsset, t.commission])).toEqual([
      ['BUY', 'ETH', '0.001'],
      ['SELL', 'BTC', '0.000025'],
    ]);
  });

  it('filters: LOT_SIZE and PRICE_FILTER give InvalidOrder, NOTIONAL gives BadRequest', async () => {
    // Above LOT_SIZE maxQty (ccxt truncates to the step itself, so off-step needs a raw call).
    const tooBig = await caught(ex.createOrder('ETH/BTC', 'limit', 'buy', 200000, 0.05));
    expect(cls(tooBig)).toBe('InvalidOrder');
    expect(tooBig.message).toContain('Filter failure: LOT_SIZE');
    const raw = ex as unknown as Record<string, (p: object) => Promise<unknown>>;
    const offStep = await caught(raw.privatePostOrder!({ symbol: 'ETHBTC', side: 'BUY', type: 'MARKET', quantity: '0.0015' }));
    expect(cls(offStep)).toBe('InvalidOrder');
    expect(offStep.message).toContain('LOT_SIZE');
    const offTick = await caught(raw.privatePostOrder!({ symbol: 'ETHBTC', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '1', price: '0.050000001' }));
    expect(cls(offTick)).toBe('InvalidOrder');
    expect(offTick.message).toContain('PRICE_FILTER');
    // cost 0.01 * 0.05 = 0.0005 < minNotional 0.001
    const small = await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 0.01));
    expect(cls(small)).toBe('BadRequest');
    expect(small.message).toContain('Filter failure: NOTIONAL');
    expect(mock.orders()).toEqual([]);
  });

  it('insufficient funds: -2010 gives InsufficientFunds, for a buy (quote) and a sell (base)', async () => {
    const buy = await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 100));
    expect(cls(buy)).toBe('InsufficientFunds');
    expect(buy.message).toContain('Account has insufficient balance for requested action.');
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'sell', 11)))).toBe('InsufficientFunds');
    // A resting order's lock counts: 0.88 BTC locked leaves 0.12 BTC, less than 3 ETH cost.
    await ex.createOrder('ETH/BTC', 'limit', 'buy', 22, 0.04);
    expect(mock.balances().BTC).toEqual({ free: '0.12', locked: '0.88' });
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 3)))).toBe('InsufficientFunds');
    expect(mock.orders()).toHaveLength(1);
  });

  it('duplicate client order id of an open order: -2010 Duplicate order sent. gives InvalidOrder; a closed one may be reused', async () => {
    await ex.createOrder('ETH/BTC', 'limit', 'buy', 1, 0.04, { newClientOrderId: 'q-dup' });
    const dup = await caught(ex.createOrder('ETH/BTC', 'limit', 'buy', 1, 0.04, { newClientOrderId: 'q-dup' }));
    expect(cls(dup)).toBe('InvalidOrder'); // not DuplicateOrderId: ccxt maps -2010 to InvalidOrder
    expect(dup).not.toBeInstanceOf(ccxt.DuplicateOrderId);
    expect(dup.message).toContain('Duplicate order sent.');
    expect(mock.ordersByClientId('q-dup')).toBe(1);
    // Binance only refuses a client id while its order is open.
    await ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-reuse' });
    await ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-reuse' });
    expect(mock.ordersByClientId('q-reuse')).toBe(2);
    // An invalid client id (Binance: ^[.A-Z:/a-z0-9_-]{1,36}$) is -1100, BadRequest.
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'x'.repeat(37) })))).toBe('BadRequest');
  });

  it('partial fill: filled < amount and status open; the rest fills later, or expires', async () => {
    mock.inject({ kind: 'partialFill', fraction: 0.4 });
    const o = await ex.createOrder('ETH/BTC', 'market', 'buy', 2, undefined, { newClientOrderId: 'q-part' });
    expect(o.status).toBe('open');
    expect(o.filled).toBe(0.8);
    expect(o.remaining).toBe(1.2);
    const fetched = await ex.fetchOrder(o.id!, 'ETH/BTC');
    expect(fetched).toMatchObject({ status: 'open', filled: 0.8, amount: 2 });
    expect(mock.balances().BTC).toEqual({ free: '0.9', locked: '0.06' }); // the rest locked at the market price
    expect((await ex.fetchOpenOrders('ETH/BTC')).map((x) => x.id)).toEqual([o.id]);

    mock.fillOrder('q-part', '0.2');
    expect((await ex.fetchOrder(o.id!, 'ETH/BTC')).filled).toBe(1);
    mock.fillOrder('q-part');
    const done = await ex.fetchOrder(o.id!, 'ETH/BTC');
    expect(done).toMatchObject({ status: 'closed', filled: 2, cost: 0.1 });
    expect(await ex.fetchOrderTrades(o.id!, 'ETH/BTC')).toHaveLength(3);
    expect(mock.balances().BTC).toEqual({ free: '0.9', locked: '0' });

    // A limit order partially filled on arrival rests with the rest; expireOrder ends a rest.
    mock.inject({ kind: 'partialFill', fraction: 0.5 });
    const l = await ex.createOrder('ETH/BTC', 'limit', 'sell', 2, 0.05);
    expect(l).toMatchObject({ status: 'open', filled: 1 });
    mock.expireOrder(Number(l.id));
    expect((await ex.fetchOrder(l.id!, 'ETH/BTC')).status).toBe('expired');
    expect(mock.balances().ETH!.locked).toBe('0');
  });
});

describe('authentication', () => {
  it('a wrong secret gives AuthenticationError (-1022), a wrong key AuthenticationError (-2015)', async () => {
    await setup();
    const badSecret = client(mock, { secret: 'wrong' });
    const e1 = await caught(badSecret.fetchBalance());
    expect(cls(e1)).toBe('AuthenticationError');
    expect(e1.message).toContain('-1022');
    expect(mock.requests.at(-1)!.status).toBe(400);
    const badKey = client(mock, { apiKey: 'wrong' });
    const e2 = await caught(badKey.fetchBalance());
    expect(cls(e2)).toBe('AuthenticationError');
    expect(e2.message).toContain('-2015');
    expect(mock.requests.at(-1)!.status).toBe(401);
    // With credentials, loadMarkets itself makes signed requests (the margin pair lists) unless
    // options.fetchMargins is false.
    const fresh = client(mock, { secret: 'wrong' });
    expect(cls(await caught(fresh.loadMarkets()))).toBe('AuthenticationError');
    const publicOnly = client(mock, { secret: 'wrong', options: { fetchMargins: false } });
    await publicOnly.loadMarkets();
  });

  it('ccxt quirk: -2015 after one successful private call is raised as DDoSProtection (a "temporary ban")', async () => {
    await setup();
    await ex.fetchBalance();
    ex.apiKey = 'revoked';
    expect(cls(await caught(ex.fetchBalance()))).toBe('DDoSProtection');
  });

  it('a timestamp outside recvWindow gives InvalidNonce (-1021)', async () => {
    let skew = 0;
    await setup({ now: () => Date.now() + skew });
    skew = 60_000; // the exchange clock is a minute ahead of ours
    expect(cls(await caught(ex.fetchBalance()))).toBe('InvalidNonce');
  });
});

describe('faults', () => {
  it('429 gives DDoSProtection and its Retry-After is in ex.last_response_headers', async () => {
    await setup();
    mock.inject({ kind: 'status', status: 429, retryAfterSeconds: 7, match: 'GET /api/v3/account' });
    const err = await caught(ex.fetchBalance());
    expect(cls(err)).toBe('DDoSProtection');
    expect(err).toBeInstanceOf(ccxt.NetworkError);
    expect(err.message).toContain('-1003');
    expect(ex.last_response_headers!['Retry-After']).toBe('7');
    // the fault was used up
    await ex.fetchBalance();
  });

  it('418 gives DDoSProtection with Retry-After', async () => {
    await setup();
    mock.inject({ kind: 'status', status: 418, retryAfterSeconds: 120 });
    expect(cls(await caught(ex.fetchTicker('ETH/BTC')))).toBe('DDoSProtection');
    expect(ex.last_response_headers!['Retry-After']).toBe('120');
  });

  it('5xx: 500 OperationFailed, 502 ExchangeNotAvailable, 503 (-1008) ExchangeError, 503 plain ExchangeNotAvailable, 504 RequestTimeout', async () => {
    await setup();
    const observed: Record<string, string> = {};
    const cases: Array<[string, Parameters<MockBinance['inject']>[0]]> = [
      ['500', { kind: 'status', status: 500 }],
      ['502', { kind: 'status', status: 502 }],
      ['503', { kind: 'status', status: 503 }],
      ['503 text', { kind: 'status', status: 503, body: 'Service Unavailable' }],
      ['504', { kind: 'status', status: 504 }],
    ];
    for (const [name, fault] of cases) {
      mock.inject(fault);
      observed[name] = cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1)));
    }
    expect(observed).toEqual({ '500': 'OperationFailed', '502': 'ExchangeNotAvailable', '503': 'ExchangeError', '503 text': 'ExchangeNotAvailable', '504': 'RequestTimeout' });
    expect(mock.orders()).toEqual([]); // status faults never process the request
  });

  it('timeout: RequestTimeout, and the order was NOT placed', async () => {
    await setup({}, { timeout: 300 });
    mock.inject({ kind: 'timeout', match: 'POST /api/v3/order' });
    const err = await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-to' }));
    expect(cls(err)).toBe('RequestTimeout');
    expect(mock.ordersByClientId('q-to')).toBe(0);
    expect(mock.requests.at(-1)).toMatchObject({ outcome: 'hung', fault: 'timeout', status: null });
    expect(cls(await caught(ex.fetchOrder(undefined as unknown as string, 'ETH/BTC', { origClientOrderId: 'q-to' })))).toBe('OrderNotFound');
  });

  it('lostResponse (destroy): NetworkError, yet the order exists and is found by its client id', async () => {
    await setup();
    mock.inject({ kind: 'lostResponse', match: 'POST /api/v3/order' });
    const err = await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-lost' }));
    expect(cls(err)).toBe('NetworkError');
    expect(mock.ordersByClientId('q-lost')).toBe(1);
    const found = await ex.fetchOrder(undefined as unknown as string, 'ETH/BTC', { origClientOrderId: 'q-lost' });
    expect(found).toMatchObject({ clientOrderId: 'q-lost', status: 'closed', filled: 1 });
    // undici did not resend the POST on its own
    expect(mock.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('lostResponse (hang): RequestTimeout, yet the order exists', async () => {
    await setup({}, { timeout: 300 });
    mock.inject({ kind: 'lostResponse', mode: 'hang' });
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-hang' })))).toBe('RequestTimeout');
    expect(mock.order('q-hang').status).toBe('FILLED');
  });

  it('down (fault and setDown): NetworkError, nothing processed', async () => {
    await setup();
    mock.inject({ kind: 'down' });
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1)))).toBe('NetworkError');
    mock.setDown(true);
    expect(cls(await caught(ex.fetchTime()))).toBe('NetworkError');
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1)))).toBe('NetworkError');
    mock.setDown(false);
    await ex.fetchTime();
    expect(mock.orders()).toEqual([]);
  });

  it('delay: a slow answer still arrives; longer than the client timeout, the order is placed after the client gave up', async () => {
    await setup({}, { timeout: 400 });
    mock.inject({ kind: 'delay', ms: 150 });
    const t0 = Date.now();
    await ex.fetchTime();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

    mock.inject({ kind: 'delay', ms: 700, match: 'POST /api/v3/order' });
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-slow' })))).toBe('RequestTimeout');
    expect(mock.ordersByClientId('q-slow')).toBe(0); // not yet...
    // ...but then it is: a retry must look before it places again.
    for (let i = 0; i < 100 && mock.ordersByClientId('q-slow') === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(mock.ordersByClientId('q-slow')).toBe(1);
  });

  it('insufficientFunds fault forces -2010 whatever the balance; faults count down and `always` lasts', async () => {
    await setup();
    const h = mock.inject({ kind: 'insufficientFunds', times: 2 });
    await ex.fetchBalance(); // not an order placement: the fault waits
    expect(h.remaining()).toBe(2);
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1)))).toBe('InsufficientFunds');
    expect(cls(await caught(ex.createOrder('ETH/BTC', 'market', 'buy', 1)))).toBe('InsufficientFunds');
    expect(h.remaining()).toBe(0);
    await ex.createOrder('ETH/BTC', 'market', 'buy', 1);

    mock.inject({ kind: 'status', status: 503, always: true, match: 'GET /api/v3/*' });
    for (let i = 0; i < 3; i++) expect(cls(await caught(ex.fetchTicker('ETH/BTC')))).toBe('ExchangeError');
    mock.clearFaults();
    await ex.fetchTicker('ETH/BTC');
  });

  it('onRequest sees an order placement before it is processed, and can hold it', async () => {
    await setup();
    const seen: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const off = mock.onRequest(async (r) => {
      if (r.method === 'POST' && r.path === '/api/v3/order') {
        seen.push(r.params.newClientOrderId!);
        await held;
      }
    });
    const placing = ex.createOrder('ETH/BTC', 'market', 'buy', 1, undefined, { newClientOrderId: 'q-hook' });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(['q-hook']);
    expect(mock.ordersByClientId('q-hook')).toBe(0);
    release();
    await placing;
    expect(mock.ordersByClientId('q-hook')).toBe(1);
    off();
  });

  it('rate limits, when enforced: 429 -1003 with Retry-After over the weight; usage headers always', async () => {
    await setup({ limits: { weightPerMinute: 50 } });
    // loadMarkets used 20 + 1 + 10 = 31 of this minute's weight; fetchTime costs 1.
    expect(Number(ex.last_response_headers!['X-Mbx-Used-Weight-1m'])).toBeGreaterThan(0);
    let limited: Error | undefined;
    for (let i = 0; i < 60 && !limited; i++) limited = await ex.fetchTime().then(() => undefined, (e: Error) => e);
    expect(cls(limited!)).toBe('DDoSProtection');
    expect(mock.requests.at(-1)!.code).toBe(-1003);
    expect(Number(ex.last_response_headers!['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(Number(ex.last_response_headers!['X-Mbx-Used-Weight-1m'])).toBeGreaterThan(50);
  });
});

describe('inspection and robustness', () => {
  beforeEach(() => setup());

  it('requestsPerSecondMax counts the busiest window, optionally filtered', async () => {
    mock.clearRequests();
    await Promise.all(Array.from({ length: 8 }, () => ex.fetchTime()));
    await ex.createOrder('ETH/BTC', 'market', 'buy', 1);
    expect(mock.requestsPerSecondMax()).toBe(9);
    expect(mock.requestsPerSecondMax(1000, 'GET /api/v3/time')).toBe(8);
    expect(mock.requestsPerSecondMax(1000, (r) => r.method === 'POST')).toBe(1);
    expect(mock.requests.every((r) => r.status === 200 && typeof r.ts === 'number')).toBe(true);
  });

  it('malformed input gets a Binance error, never a crash', async () => {
    const url = mock.url;
    const j = async (res: Response) => ({ status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as unknown });
    expect(await j(await fetch(`${url}/api/v3/klines?symbol=ETHBTC&interval=7m`))).toMatchObject({ status: 400, type: expect.stringContaining('application/json'), body: { code: -1120 } });
    expect(await j(await fetch(`${url}/api/v3/klines?symbol=NOPE&interval=5m`))).toMatchObject({ status: 400, body: { code: -1121, msg: 'Invalid symbol.' } });
    expect(await j(await fetch(`${url}/api/v3/klines?symbol=ETHBTC&interval=5m&startTime=abc`))).toMatchObject({ status: 400, body: { code: -1100 } });
    expect(await j(await fetch(`${url}/api/v3/account`))).toMatchObject({ status: 401, body: { code: -2014 } });
    expect(await j(await fetch(`${url}/api/v3/account?x=%E0%A4%A`, { headers: { 'X-MBX-APIKEY': mock.apiKey } }))).toMatchObject({ status: 400, body: { code: -1102 } });
    expect(await j(await fetch(`${url}/api/v3/order`, { method: 'POST', headers: { 'X-MBX-APIKEY': mock.apiKey }, body: '%%%&&&==' }))).toMatchObject({ status: 400 });
    const raw = ex as unknown as Record<string, (p: object) => Promise<unknown>>;
    expect(cls(await caught(raw.privatePostOrder!({ symbol: 'ETHBTC', side: 'BUY', type: 'MARKET', quantity: 'lots' })))).toBe('BadRequest');
    expect(cls(await caught(raw.privatePostOrder!({ symbol: 'ETHBTC', side: 'UP', type: 'MARKET', quantity: '1' })))).toBe('BadRequest');
    expect(cls(await caught(raw.privatePostOrder!({ symbol: 'ETHBTC', side: 'BUY', type: 'LIMIT', quantity: '1', price: '0.01' })))).toBe('BadRequest');
    // Malformed HTTP on a raw socket.
    await new Promise<void>((resolve) => {
      const s = connect(Number(new URL(url).port), '127.0.0.1', () => s.write('NOT HTTP AT ALL\r\n\r\n'));
      s.on('data', () => undefined);
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    // An endpoint the mock does not serve: 404, recorded in mock.errors (cleared here on purpose).
    expect((await fetch(`${url}/api/v3/nothing`)).status).toBe(404);
    expect(mock.errors).toEqual(['no endpoint GET /api/v3/nothing']);
    mock.clearRequests();
    // Still serving.
    expect(await ex.fetchTime()).toBeGreaterThan(0);
  });

  it('close() ends hung requests and kept-alive sockets at once', async () => {
    const slow = client(mock, { timeout: 10_000 });
    mock.inject({ kind: 'timeout' });
    const pending = caught(slow.fetchTime());
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await mock.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(cls(await pending)).toBe('NetworkError');
  });
});
