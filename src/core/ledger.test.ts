import { describe, expect, it } from 'vitest';
import { applyFill, equity, initialAccount, LedgerError, unrealizedPnl, type AccountState } from './ledger.ts';
import type { MarketRules } from './market.ts';
import type { Fill } from './order.ts';

const ADA: MarketRules = {
  symbol: 'ADA/BTC',
  base: 'ADA',
  quote: 'BTC',
  precision: { amount: '1', price: '0.00000001' },
  limits: { amount: { min: '1' }, cost: { min: '0.001' } },
  taker: '0.001',
  maker: '0.001',
};
const XRP: MarketRules = { ...ADA, symbol: 'XRP/ETH', base: 'XRP', quote: 'ETH' };
const TOY: MarketRules = { ...ADA, symbol: 'TOY/BTC', base: 'TOY', precision: { amount: '1', price: '0.01' } };

let n = 0;
/** The same rules under another base, for fills of another market. */
const ADA_AS = (base: string): MarketRules => ({ ...ADA, symbol: `${base}/BTC`, base });

const fill = (over: Partial<Fill>): Fill => ({
  clientOrderId: `id-${n++}`,
  symbol: 'ADA/BTC',
  side: 'buy',
  amount: '200',
  price: '0.00005296',
  fee: '0.0000106',
  feeCurrency: 'BTC',
  ts: 1,
  ...over,
});

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe('initialAccount', () => {
  it('normalises balances and starts flat', () => {
    expect(initialAccount({ BTC: '1.50', ETH: '1e-2' })).toEqual({ cash: { BTC: '1.5', ETH: '0.01' }, positions: {}, realizedPnl: {}, feesPaid: {} });
  });

  it('refuses negative or non-finite balances', () => {
    expect(() => initialAccount({ BTC: '-1' })).toThrow(LedgerError);
    expect(() => initialAccount({ BTC: 'NaN' })).toThrow(/balance of BTC/);
  });
});

describe('applyFill', () => {
  it('debits cost plus fee on a buy and opens the position at the fill price', () => {
    const s = applyFill(initialAccount({ BTC: '1' }), fill({}), ADA);
    // 200 × 0.00005296 = 0.010592; 1 − 0.010592 − 0.0000106 = 0.9893974
    expect(s.cash).toEqual({ BTC: '0.9893974' });
    expect(s.positions['ADA/BTC']).toEqual({
      symbol: 'ADA/BTC',
      amount: '200',
      avgPrice: '0.00005296',
      costBasis: '0.0106026',
      realizedPnl: '0',
      fees: '0.0000106',
    });
    expect(s.feesPaid).toEqual({ BTC: '0.0000106' });
  });

  it("settles the quote amount a venue reports instead of amount × price, on buys and sells", () => {
    // 3 × 0.10441057 = 0.31323171 exactly; a venue that settled 0.3132317 (its rounding) is followed.
    const bought = applyFill(initialAccount({ BTC: '1' }), fill({ symbol: 'ETH/BTC', amount: '3', price: '0.10441057', cost: '0.3132317', fee: '0' }), ADA_AS('ETH'));
    expect(bought.cash.BTC).toBe('0.6867683');
    expect(bought.positions['ETH/BTC']!.costBasis).toBe('0.3132317');
    const sold = applyFill(bought, fill({ symbol: 'ETH/BTC', side: 'sell', amount: '3', price: '0.10441057', cost: '0.3132317', fee: '0' }), ADA_AS('ETH'));
    expect(sold.cash.BTC).toBe('1');
    expect(sold.realizedPnl.BTC).toBe('0');
    expect(() => applyFill(bought, fill({ symbol: 'ETH/BTC', side: 'sell', amount: '3', cost: 'NaN' }), ADA_AS('ETH'))).toThrow(/fill cost/);
  });

  it('realises exactly proceeds − cost − fees over a buy then sell round trip', () => {
    let s = applyFill(initialAccount({ BTC: '1' }), fill({}), ADA);
    s = applyFill(s, fill({ side: 'sell', price: '0.000054', fee: '0.0000108' }), ADA);
    // proceeds 0.0108 − cost 0.010592 − fees (0.0000106 + 0.0000108) = 0.0001866
    expect(s.realizedPnl).toEqual({ BTC: '0.0001866' });
    expect(s.positions['ADA/BTC']).toMatchObject({ amount: '0', avgPrice: '0', costBasis: '0', realizedPnl: '0.0001866', fees: '0.0000214' });
    expect(s.cash).toEqual({ BTC: '1.0001866' });
    expect(s.feesPaid).toEqual({ BTC: '0.0000214' });
  });

  it('realises a partial sell against its share of the basis, and the total stays exact', () => {
    let s = initialAccount({ BTC: '10' });
    s = applyFill(s, fill({ symbol: 'TOY/BTC', amount: '3', price: '1', fee: '0.003' }), TOY);
    s = applyFill(s, fill({ symbol: 'TOY/BTC', side: 'sell', amount: '1', price: '2', fee: '0.002' }), TOY);
    // share 3.003 / 3 = 1.001; 2 − 0.002 − 1.001 = 0.997
    expect(s.realizedPnl.BTC).toBe('0.997');
    expect(s.positions['TOY/BTC']).toMatchObject({ amount: '2', costBasis: '2.002', avgPrice: '1' });
    s = applyFill(s, fill({ symbol: 'TOY/BTC', side: 'sell', amount: '2', price: '1.5', fee: '0.003' }), TOY);
    // proceeds 5 − cost 3 − fees 0.008 = 1.992
    expect(s.realizedPnl.BTC).toBe('1.992');
    expect(s.cash.BTC).toBe('11.992');
  });

  it('keeps round trips exact when a basis share is not a finite decimal', () => {
    let s = initialAccount({ BTC: '10' });
    s = applyFill(s, fill({ symbol: 'TOY/BTC', amount: '3', price: '1', fee: '0.00000001' }), TOY);
    s = applyFill(s, fill({ symbol: 'TOY/BTC', side: 'sell', amount: '1', price: '1', fee: '0' }), TOY);
    expect(s.realizedPnl.BTC).toBe('-0.000000003333333333');
    s = applyFill(s, fill({ symbol: 'TOY/BTC', side: 'sell', amount: '2', price: '1', fee: '0' }), TOY);
    expect(s.realizedPnl.BTC).toBe('-0.00000001');
    expect(s.cash.BTC).toBe('9.99999999');
  });

  it('averages the entry price weighted by amount', () => {
    let s = initialAccount({ BTC: '10' });
    s = applyFill(s, fill({ symbol: 'TOY/BTC', amount: '1', price: '1', fee: '0' }), TOY);
    s = applyFill(s, fill({ symbol: 'TOY/BTC', amount: '2', price: '2', fee: '0' }), TOY);
    expect(s.positions['TOY/BTC']).toMatchObject({ amount: '3', avgPrice: '1.666666666666666667', costBasis: '5' });
  });

  it('returns a new state and leaves the old one untouched', () => {
    const s0 = deepFreeze(initialAccount({ BTC: '1' }));
    const s1 = deepFreeze(applyFill(s0, fill({}), ADA));
    const s2 = applyFill(s1, fill({ side: 'sell', amount: '50' }), ADA);
    expect(s0).toEqual(initialAccount({ BTC: '1' }));
    expect(s1.positions['ADA/BTC']!.amount).toBe('200');
    expect(s2.positions['ADA/BTC']!.amount).toBe('150');
  });

  it('never overdraws cash', () => {
    const s = initialAccount({ BTC: '0.0106' }); // 0.0000026 short of 0.010592 + 0.0000106
    expect(() => applyFill(s, fill({}), ADA)).toThrow(LedgerError);
    try {
      applyFill(s, fill({}), ADA);
    } catch (e) {
      expect((e as LedgerError).code).toBe('insufficient-cash');
      expect((e as LedgerError).message).toMatch(/needs 0.0106026 BTC but only 0.0106 is free/);
    }
    expect(() => applyFill(initialAccount({}), fill({}), ADA)).toThrow(/insufficient|needs/);
    // Exactly enough is fine and leaves zero.
    expect(applyFill(initialAccount({ BTC: '0.0106026' }), fill({}), ADA).cash.BTC).toBe('0');
  });

  it('never sells more than is held', () => {
    const s = applyFill(initialAccount({ BTC: '1' }), fill({}), ADA);
    expect(() => applyFill(s, fill({ side: 'sell', amount: '201' }), ADA)).toThrow(/exceeds the 200 held/);
    expect(() => applyFill(initialAccount({ BTC: '1' }), fill({ side: 'sell' }), ADA)).toThrow(LedgerError);
  });

  it('takes a base-currency fee out of the units received', () => {
    const s = applyFill(initialAccount({ BTC: '1' }), fill({ fee: '0.2', feeCurrency: 'ADA' }), ADA);
    expect(s.cash.BTC).toBe('0.989408');
    expect(s.positions['ADA/BTC']).toMatchObject({ amount: '199.8', costBasis: '0.010592' });
    expect(s.feesPaid).toEqual({ ADA: '0.2' });
    const closed = applyFill(s, fill({ side: 'sell', amount: '199.8', price: '0.00005296', fee: '0.01058501', feeCurrency: 'BTC' }), ADA);
    expect(closed.positions['ADA/BTC']!.amount).toBe('0');
  });

  it('debits a third-currency fee from that balance', () => {
    const s = applyFill(initialAccount({ BTC: '1', BNB: '0.5' }), fill({ fee: '0.01', feeCurrency: 'BNB' }), ADA);
    expect(s.cash).toEqual({ BTC: '0.989408', BNB: '0.49' });
    expect(() => applyFill(initialAccount({ BTC: '1' }), fill({ fee: '0.01', feeCurrency: 'BNB' }), ADA)).toThrow(/exceeds the free BNB/);
  });

  it('refuses malformed fills and fills for another market', () => {
    const s = initialAccount({ BTC: '1' });
    for (const bad of [{ amount: '0' }, { amount: '-1' }, { price: 'NaN' }, { price: 'Infinity' }, { fee: '-0.1' }, { amount: '1e400e' }]) {
      expect(() => applyFill(s, fill(bad), ADA)).toThrow(LedgerError);
    }
    expect(() => applyFill(s, fill({ symbol: 'XRP/ETH' }), ADA)).toThrow(/rules are for ADA\/BTC/);
  });
});

describe('equity and unrealizedPnl', () => {
  const bought = (): AccountState => {
    let s = initialAccount({ BTC: '1', ETH: '2' });
    s = applyFill(s, fill({}), ADA);
    s = applyFill(s, fill({ symbol: 'XRP/ETH', amount: '100', price: '0.0014', fee: '0.00014', feeCurrency: 'ETH' }), XRP);
    return s;
  };

  it('is cash plus positions at mark, exactly, per quote currency', () => {
    const s = bought();
    const marks = { 'ADA/BTC': '0.00006', 'XRP/ETH': '0.0015' };
    // 0.9893974 + 200 × 0.00006
    expect(equity(s, 'BTC', marks)).toBe('1.0013974');
    expect(unrealizedPnl(s, 'BTC', marks)).toBe('0.0013974');
    // 2 − 0.14 − 0.00014 + 100 × 0.0015
    expect(equity(s, 'ETH', marks)).toBe('2.00986');
    expect(unrealizedPnl(s, 'ETH', marks)).toBe('0.00986');
  });

  it('throws naming the symbol when an open position has no mark', () => {
    expect(() => equity(bought(), 'BTC', { 'XRP/ETH': '0.0015' })).toThrow(/no mark price for ADA\/BTC/);
    expect(() => equity(bought(), 'BTC', { 'ADA/BTC': 'NaN' })).toThrow(/mark price of ADA\/BTC/);
  });

  it('needs no mark for closed positions or other quote currencies', () => {
    let s = applyFill(initialAccount({ BTC: '1' }), fill({}), ADA);
    s = applyFill(s, fill({ side: 'sell' }), ADA);
    expect(equity(s, 'BTC', {})).toBe('0.9999788');
    expect(equity(bought(), 'USDT', {})).toBe('0');
  });
});
