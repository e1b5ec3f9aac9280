/**
 * The matching and accounting core of the mock Binance, free of HTTP: markets, prices, balances,
 * orders and trades, with Binance's spot rules and error codes. The HTTP layer (mockBinance.ts)
 * parses requests into plain string parameters, calls in here and serialises the answers.
 *
 * Money is exact (decimal.js) and kept at Binance's 8 decimal places: quote amounts of a fill are
 * rounded half-up to 8 places and the buyer pays / the seller receives exactly that; commission is
 * `rate × received amount`, rounded half-up to 8 places, charged in the asset received (the base
 * asset on a buy, the quote asset on a sell), which is what Binance does for an account that does
 * not pay fees in BNB. Takers pay the market's taker rate, resting (maker) fills its maker rate.
 */
import { randomBytes } from 'node:crypto';
import { Decimal } from 'decimal.js';
import type { MarketSpec } from './marketData.ts';

/** A Binance error answer: HTTP status, Binance code and message, exactly as the venue sends them. */
export class BinanceError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly msg: string,
  ) {
    super(`${status} ${code} ${msg}`);
  }
}

export const ERR = {
  insufficient: () => new BinanceError(400, -2010, 'Account has insufficient balance for requested action.'),
  duplicate: () => new BinanceError(400, -2010, 'Duplicate order sent.'),
  wouldTake: () => new BinanceError(400, -2010, 'Order would immediately match and take.'),
  noSuchOrder: () => new BinanceError(400, -2013, 'Order does not exist.'),
  unknownOrder: () => new BinanceError(400, -2011, 'Unknown order sent.'),
  filter: (name: string) => new BinanceError(400, -1013, `Filter failure: ${name}`),
  badSymbol: () => new BinanceError(400, -1121, 'Invalid symbol.'),
  mandatory: (param: string) => new BinanceError(400, -1102, `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.`),
  eitherParam: (a: string, b: string) => new BinanceError(400, -1102, `Param '${a}' or '${b}' must be sent, but both were empty/null!`),
  notRequired: (param: string) => new BinanceError(400, -1106, `Parameter '${param}' sent when not required.`),
  illegal: (param: string, range: string) => new BinanceError(400, -1100, `Illegal characters found in parameter '${param}'; legal range is '${range}'.`),
  badCombination: () => new BinanceError(400, -1128, 'Combination of optional parameters invalid.'),
};

const DECIMAL_RE = /^([0-9]{1,20})(\.[0-9]{1,20})?$/;
const CLIENT_ID_RE = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const INT_RE = /^-?[0-9]{1,19}$/;

export type Side = 'BUY' | 'SELL';
export type OrderType = 'MARKET' | 'LIMIT' | 'LIMIT_MAKER';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';

/** An order as the mock keeps it; inspection methods hand out copies of this. */
export interface MockOrder {
  orderId: number;
  clientOrderId: string;
  /** ccxt symbol, e.g. "ETH/BTC". */
  symbol: string;
  /** Binance id, e.g. "ETHBTC". */
  marketId: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  /** Limit price; 0 for a market order. */
  price: Decimal;
  origQty: Decimal;
  executedQty: Decimal;
  cummulativeQuoteQty: Decimal;
  origQuoteOrderQty: Decimal;
  status: OrderStatus;
  time: number;
  updateTime: number;
  /** Funds still locked by the unfilled rest: quote asset for a buy, base asset for a sell. */
  locked: Decimal;
  /** Price at which a buy's rest is locked: the limit price, or the market price when placed. */
  lockPrice: Decimal;
  tradeIds: number[];
}

export interface MockTrade {
  id: number;
  orderId: number;
  clientOrderId: string;
  symbol: string;
  marketId: string;
  side: Side;
  price: Decimal;
  qty: Decimal;
  quoteQty: Decimal;
  commission: Decimal;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface Balance {
  free: Decimal;
  locked: Decimal;
}

/** What a test can force on the next order placement (fault injection). */
export interface PlaceOverrides {
  forceInsufficient?: boolean;
  /** Fill only this fraction (0..1) of the quantity now, rounded down to the lot step. */
  partialFraction?: number;
}

export interface PlaceResult {
  order: MockOrder;
  fills: MockTrade[];
  respType: 'ACK' | 'RESULT' | 'FULL';
}

const D0 = new Decimal(0);

/** Binance's own client order ids: 22 characters of [A-Za-z0-9]. */
function binanceClientId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(22)].map((b) => alphabet[b % alphabet.length]).join('');
}

const round8 = (d: Decimal): Decimal => d.toDecimalPlaces(8, Decimal.ROUND_HALF_UP);
const ceil8 = (d: Decimal): Decimal => d.toDecimalPlaces(8, Decimal.ROUND_UP);
const floorToStep = (q: Decimal, step: Decimal): Decimal => (step.isZero() ? q : q.div(step).floor().mul(step));
const isMultiple = (v: Decimal, base: Decimal, step: Decimal): boolean => step.isZero() || v.minus(base).mod(step).isZero();

export function parseDecimal(params: Record<string, string>, name: string): Decimal | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  if (!DECIMAL_RE.test(raw)) throw ERR.illegal(name, '^([0-9]{1,20})(\\.[0-9]{1,20})?$');
  return new Decimal(raw);
}

export function parseIntParam(params: Record<string, string>, name: string): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  if (!INT_RE.test(raw)) throw ERR.illegal(name, '^-?[0-9]{1,19}$');
  return Number(raw);
}

export class Engine {
  readonly markets = new Map<string, MarketSpec>(); // by ccxt symbol
  readonly marketsById = new Map<string, MarketSpec>(); // by Binance id
  readonly prices = new Map<string, Decimal>(); // by ccxt symbol
  readonly balances = new Map<string, Balance>();
  readonly orders: MockOrder[] = [];
  readonly trades: MockTrade[] = [];
  /** Whether setPrice fills the resting limit orders it crosses. */
  autoFillOnCross = true;
  private nextOrderId = 1000;
  private nextTradeId = 5000;

  constructor(
    specs: MarketSpec[],
    private readonly now: () => number,
  ) {
    for (const s of specs) {
      this.markets.set(s.symbol, s);
      this.marketsById.set(s.id, s);
      this.balanceOf(s.base);
      this.balanceOf(s.quote);
    }
  }

  // -------------------------------------------------------------------------------------------
  // lookups
  // -------------------------------------------------------------------------------------------

  balanceOf(asset: string): Balance {
    let b = this.balances.get(asset);
    if (!b) {
      b = { free: D0, locked: D0 };
      this.balances.set(asset, b);
    }
    return b;
  }

  marketById(id: string | undefined): MarketSpec {
    if (id === undefined || id === '') throw ERR.mandatory('symbol');
    const m = this.marketsById.get(id);
    if (!m) throw ERR.badSymbol();
    return m;
  }

  market(symbol: string): MarketSpec {
    const m = this.markets.get(symbol) ?? this.marketsById.get(symbol);
    if (!m) throw new Error(`mock binance: unknown market "${symbol}" (known: ${[...this.markets.keys()].join(', ')})`);
    return m;
  }

  price(symbol: string): Decimal {
    return this.prices.get(symbol) ?? new Decimal(1);
  }

  /** By orderId and/or clientOrderId, with Binance's rule when both are given: they must agree. */
  findOrder(m: MarketSpec, orderId: number | undefined, clientOrderId: string | undefined): MockOrder | undefined {
    let found: MockOrder | undefined;
    if (orderId !== undefined) {
      found = this.orders.find((o) => o.orderId === orderId);
      if (found && clientOrderId !== undefined && found.clientOrderId !== clientOrderId) return undefined;
    } else if (clientOrderId !== undefined) {
      // A client id can be reused once its order is closed: the newest order with it wins.
      for (let i = this.orders.length - 1; i >= 0; i--) {
        if (this.orders[i]!.clientOrderId === clientOrderId) {
          found = this.orders[i];
          break;
        }
      }
    }
    return found && found.marketId === m.id ? found : undefined;
  }

  /** A test's handle on an order: its orderId (number) or its clientOrderId (newest with it). */
  orderByRef(ref: string | number): MockOrder {
    const o =
      typeof ref === 'number'
        ? this.orders.find((x) => x.orderId === ref)
        : [...this.orders].reverse().find((x) => x.clientOrderId === ref);
    if (!o) throw new Error(`mock binance: no order ${JSON.stringify(ref)}`);
    return o;
  }

  isOpen(o: MockOrder): boolean {
    return o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
  }

  // -------------------------------------------------------------------------------------------
  // placing
  // -------------------------------------------------------------------------------------------

  /**
   * POST /api/v3/order (and /order/test with `dryRun`): validates in Binance's order (parameters,
   * duplicate client id, filters, balance), then books and matches the order.
   */
  place(params: Record<string, string>, overrides: PlaceOverrides = {}, dryRun = false): PlaceResult {
    const m = this.marketById(params.symbol);
    const side = params.side;
    if (side === undefined || side === '') throw ERR.mandatory('side');
    if (side !== 'BUY' && side !== 'SELL') throw new BinanceError(400, -1117, 'Invalid side.');
    const type = params.type;
    if (type === undefined || type === '') throw ERR.mandatory('type');
    if (type !== 'MARKET' && type !== 'LIMIT' && type !== 'LIMIT_MAKER') throw new BinanceError(400, -1116, 'Invalid orderType.');
    const respTypeRaw = params.newOrderRespType ?? 'FULL';
    if (respTypeRaw !== 'ACK' && respTypeRaw !== 'RESULT' && respTypeRaw !== 'FULL') throw new BinanceError(400, -1100, "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.");
    const respType: PlaceResult['respType'] = respTypeRaw;

    let clientOrderId = params.newClientOrderId;
    if (clientOrderId !== undefined && clientOrderId !== '') {
      if (!CLIENT_ID_RE.test(clientOrderId)) throw ERR.illegal('newClientOrderId', '^[\\.A-Z\\:/a-z0-9_-]{1,36}$');
    } else {
      clientOrderId = binanceClientId();
    }

    let quantity = parseDecimal(params, 'quantity');
    const quoteOrderQty = parseDecimal(params, 'quoteOrderQty');
    const price = parseDecimal(params, 'price');
    let timeInForce: TimeInForce = 'GTC';
    const current = this.price(m.symbol);

    if (type === 'MARKET') {
      if (price !== undefined) throw ERR.notRequired('price');
      if (params.timeInForce) throw ERR.notRequired('timeInForce');
      if (quantity === undefined && quoteOrderQty === undefined) throw ERR.eitherParam('quantity', 'quoteOrderQty');
      if (quantity !== undefined && quoteOrderQty !== undefined) throw ERR.notRequired('quoteOrderQty');
    } else {
      if (quoteOrderQty !== undefined) throw ERR.notRequired('quoteOrderQty');
      if (quantity === undefined) throw ERR.mandatory('quantity');
      if (price === undefined) throw ERR.mandatory('price');
      if (type === 'LIMIT') {
        const tif = params.timeInForce;
        if (tif === undefined || tif === '') throw ERR.mandatory('timeInForce');
        if (tif !== 'GTC' && tif !== 'IOC' && tif !== 'FOK') throw new BinanceError(400, -1115, 'Invalid timeInForce.');
        timeInForce = tif;
      } else if (params.timeInForce) {
        throw ERR.notRequired('timeInForce');
      }
    }

    // A client order id may be reused once its order is closed; an open one is a duplicate.
    if (this.orders.some((o) => o.clientOrderId === clientOrderId && this.isOpen(o))) throw ERR.duplicate();

    // quoteOrderQty: spend (buy) or receive (sell) that much quote; the quantity follows from the
    // market price, rounded down to the lot step, as Binance does.
    if (quoteOrderQty !== undefined) {
      if (quoteOrderQty.lte(0)) throw ERR.filter('NOTIONAL');
      quantity = floorToStep(quoteOrderQty.div(current), m.stepSize);
    }
    const qty = quantity!;

    // Filters, in the order Binance lists them.
    if (type !== 'MARKET') {
      const p = price!;
      if (p.lt(m.minPrice) || p.gt(m.maxPrice) || !isMultiple(p, m.minPrice, m.tickSize)) throw ERR.filter('PRICE_FILTER');
    }
    if (qty.lt(m.minQty) || qty.gt(m.maxQty) || !isMultiple(qty, m.minQty, m.stepSize)) throw ERR.filter('LOT_SIZE');
    if (type === 'MARKET' && qty.gt(m.marketMaxQty)) throw ERR.filter('MARKET_LOT_SIZE');
    const notional = quoteOrderQty ?? qty.mul(type === 'MARKET' ? current : price!);
    if (notional.lt(m.minNotional)) throw ERR.filter('NOTIONAL');
    if (type !== 'MARKET' && notional.gt(m.maxNotional)) throw ERR.filter('NOTIONAL');
    if (type !== 'MARKET' && this.orders.filter((o) => o.marketId === m.id && this.isOpen(o)).length >= m.maxNumOrders) {
      throw ERR.filter('MAX_NUM_ORDERS');
    }

    const marketable = type === 'MARKET' || (side === 'BUY' ? price!.gte(current) : price!.lte(current));
    if (type === 'LIMIT_MAKER' && marketable) throw ERR.wouldTake();

    // Balance: a buy locks quote at its limit price (or the market price), a sell locks base.
    const lockPrice = type === 'MARKET' ? current : price!;
    const need = side === 'BUY' ? ceil8(qty.mul(lockPrice)) : qty;
    const payAsset = side === 'BUY' ? m.quote : m.base;
    if (overrides.forceInsufficient || this.balanceOf(payAsset).free.lt(need)) throw ERR.insufficient();

    const now = this.now();
    const order: MockOrder = {
      orderId: dryRun ? 0 : this.nextOrderId++,
      clientOrderId,
      symbol: m.symbol,
      marketId: m.id,
      side,
      type,
      timeInForce,
      price: type === 'MARKET' ? D0 : price!,
      origQty: qty,
      executedQty: D0,
      cummulativeQuoteQty: D0,
      origQuoteOrderQty: quoteOrderQty ?? D0,
      status: 'NEW',
      time: now,
      updateTime: now,
      locked: D0,
      lockPrice,
      tradeIds: [],
    };
    if (dryRun) return { order, fills: [], respType };

    this.orders.push(order);
    this.lock(order, m, need);

    const fills: MockTrade[] = [];
    if (marketable && !(timeInForce === 'FOK' && overrides.partialFraction !== undefined && overrides.partialFraction < 1)) {
      const fraction = overrides.partialFraction;
      const fillQty = fraction === undefined ? qty : floorToStep(qty.mul(Math.max(0, Math.min(1, fraction))), m.stepSize);
      // Takers trade at the market price, which for a marketable limit order is at or better
      // than its limit.
      if (fillQty.gt(0)) fills.push(this.fill(order, m, fillQty, current, false));
    }
    // IOC and FOK never rest: whatever did not fill now expires.
    if (this.isOpen(order) && (timeInForce === 'IOC' || timeInForce === 'FOK')) this.close(order, m, 'EXPIRED');
    return { order, fills, respType };
  }

  private lock(order: MockOrder, m: MarketSpec, amount: Decimal): void {
    const asset = order.side === 'BUY' ? m.quote : m.base;
    const b = this.balanceOf(asset);
    b.free = b.free.minus(amount);
    b.locked = b.locked.plus(amount);
    order.locked = order.locked.plus(amount);
  }

  /** Moves what an order still locks beyond `keep` back to free. */
  private release(order: MockOrder, m: MarketSpec, keep: Decimal): void {
    const asset = order.side === 'BUY' ? m.quote : m.base;
    const b = this.balanceOf(asset);
    const give = order.locked.minus(keep);
    if (give.lte(0)) return;
    b.locked = b.locked.minus(give);
    b.free = b.free.plus(give);
    order.locked = keep;
  }

  /**
   * Executes `qty` of an open order at `price`. The payment comes out of the order's lock (what
   * the lock does not cover, e.g. a market buy's rest filled later at a higher price, comes out of
   * free), the proceeds minus commission go to free.
   */
  fill(order: MockOrder, m: MarketSpec, qty: Decimal, price: Decimal, isMaker: boolean): MockTrade {
    const remaining = order.origQty.minus(order.executedQty);
    if (qty.lte(0) || qty.gt(remaining)) throw new Error(`mock binance: cannot fill ${qty} of order ${order.orderId} (remaining ${remaining})`);
    const rate = isMaker ? m.maker : m.taker;
    const quoteQty = round8(qty.mul(price));
    const base = this.balanceOf(m.base);
    const quote = this.balanceOf(m.quote);
    const restAfter = remaining.minus(qty);
    const keep = restAfter.isZero() ? D0 : order.side === 'BUY' ? ceil8(restAfter.mul(order.lockPrice)) : restAfter;
    const payAsset = order.side === 'BUY' ? quote : base;
    const pay = order.side === 'BUY' ? quoteQty : qty;
    // What this fill frees from the lock, then pay from free.
    const fromLock = order.locked.minus(keep);
    if (payAsset.free.plus(fromLock).lt(pay)) {
      throw new Error(`mock binance: order ${order.orderId} cannot pay ${pay} for this fill (free ${payAsset.free}, lock ${fromLock})`);
    }
    this.release(order, m, keep);
    payAsset.free = payAsset.free.minus(pay);

    let commission: Decimal;
    let commissionAsset: string;
    if (order.side === 'BUY') {
      commission = round8(qty.mul(rate));
      commissionAsset = m.base;
      base.free = base.free.plus(qty).minus(commission);
    } else {
      commission = round8(quoteQty.mul(rate));
      commissionAsset = m.quote;
      quote.free = quote.free.plus(quoteQty).minus(commission);
    }
    const now = this.now();
    const trade: MockTrade = {
      id: this.nextTradeId++,
      orderId: order.orderId,
      clientOrderId: order.clientOrderId,
      symbol: m.symbol,
      marketId: m.id,
      side: order.side,
      price,
      qty,
      quoteQty,
      commission,
      commissionAsset,
      time: now,
      isBuyer: order.side === 'BUY',
      isMaker,
    };
    this.trades.push(trade);
    order.tradeIds.push(trade.id);
    order.executedQty = order.executedQty.plus(qty);
    order.cummulativeQuoteQty = order.cummulativeQuoteQty.plus(quoteQty);
    order.status = restAfter.isZero() ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = now;
    return trade;
  }

  /** Ends an open order (CANCELED or EXPIRED) and returns its lock to free. */
  close(order: MockOrder, m: MarketSpec, status: 'CANCELED' | 'EXPIRED'): void {
    this.release(order, m, D0);
    order.status = status;
    order.updateTime = this.now();
  }

  // -------------------------------------------------------------------------------------------
  // test controls
  // -------------------------------------------------------------------------------------------

  setPrice(symbol: string, price: Decimal): MockTrade[] {
    const m = this.market(symbol);
    this.prices.set(m.symbol, price);
    if (!this.autoFillOnCross) return [];
    const fills: MockTrade[] = [];
    for (const o of this.orders) {
      if (o.marketId !== m.id || !this.isOpen(o) || o.type === 'MARKET') continue;
      const crossed = o.side === 'BUY' ? price.lte(o.price) : price.gte(o.price);
      if (crossed) fills.push(this.fill(o, m, o.origQty.minus(o.executedQty), o.price, true));
    }
    return fills;
  }

  /** Fills `qty` (default: all the rest) of an open order: limit orders at their price as maker, market orders at the market price. */
  fillOrder(ref: string | number, qty?: Decimal): MockTrade {
    const o = this.orderByRef(ref);
    if (!this.isOpen(o)) throw new Error(`mock binance: order ${o.orderId} (${o.clientOrderId}) is ${o.status}, not open`);
    const m = this.market(o.symbol);
    const q = qty ?? o.origQty.minus(o.executedQty);
    return o.type === 'MARKET' ? this.fill(o, m, q, this.price(m.symbol), false) : this.fill(o, m, q, o.price, true);
  }

  expireOrder(ref: string | number): void {
    const o = this.orderByRef(ref);
    if (!this.isOpen(o)) throw new Error(`mock binance: order ${o.orderId} (${o.clientOrderId}) is ${o.status}, not open`);
    this.close(o, this.market(o.symbol), 'EXPIRED');
  }
}
