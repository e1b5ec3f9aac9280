import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMultipleOf } from './precision.ts';
import { loadMarketRules, MarketRulesError } from './marketRulesSchema.ts';

const root = new URL('../../data/', import.meta.url);
const bundled = JSON.parse(readFileSync(new URL('markets.json', root), 'utf8')) as Record<string, Record<string, unknown>>;
const ada = bundled['ADA/BTC']!;

describe('loadMarketRules', () => {
  it('loads data/markets.json with a market for every bundled OHLCV file', () => {
    const rules = loadMarketRules(bundled);
    const files = readdirSync(new URL('ohlcv/', root)).filter((f) => f.endsWith('.csv'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const symbol = file.replace(/-.*$/, '').replace('_', '/');
      expect(rules[symbol], `markets.json lacks ${symbol}`).toBeDefined();
    }
  });

  it('has a price tick that every bundled price lies on, and an amount step the minimum honours', () => {
    const rules = loadMarketRules(bundled);
    for (const file of readdirSync(new URL('ohlcv/', root)).filter((f) => f.endsWith('.csv'))) {
      const r = rules[file.replace(/-.*$/, '').replace('_', '/')]!;
      expect(isMultipleOf(r.limits.amount.min, r.precision.amount)).toBe(true);
      const lines = readFileSync(new URL(`ohlcv/${file}`, root), 'utf8').trim().split('\n').slice(1);
      const offGrid = lines.flatMap((line) => line.split(',').slice(1, 5)).filter((p) => !isMultipleOf(p, r.precision.price));
      expect(offGrid.slice(0, 5), `${file} prices off the ${r.precision.price} grid`).toEqual([]);
    }
  });

  it('accepts ccxt-shaped input: numbers, nulls for unknown limits, extra keys, an array', () => {
    const ccxtLike = {
      id: 'ADABTC',
      symbol: 'ADA/BTC',
      base: 'ADA',
      quote: 'BTC',
      active: true,
      precision: { amount: 1, price: 1e-8 },
      limits: { amount: { min: 1, max: null }, cost: { min: 0.001, max: null }, price: { min: null } },
      taker: 0.001,
      maker: 0.001,
      info: {},
    };
    expect(loadMarketRules([ccxtLike])).toEqual({
      'ADA/BTC': {
        symbol: 'ADA/BTC',
        base: 'ADA',
        quote: 'BTC',
        precision: { amount: '1', price: '0.00000001' },
        limits: { amount: { min: '1', max: undefined }, cost: { min: '0.001' } },
        taker: '0.001',
        maker: '0.001',
      },
    });
  });

  it.each([
    [{ ...ada, precision: { amount: '0', price: '0.00000001' } }, /ADA\/BTC: precision.amount: expected a positive number/],
    [{ ...ada, precision: { amount: '1', price: 'abc' } }, /ADA\/BTC: precision.price: expected a finite decimal/],
    [{ ...ada, taker: undefined }, /ADA\/BTC: taker: expected a finite decimal/],
    [{ ...ada, taker: '-0.001' }, /ADA\/BTC: taker: .*must not be negative/],
    [{ ...ada, maker: '1.5' }, /ADA\/BTC: maker: expected a fee rate/],
    [{ ...ada, limits: { amount: { min: '10', max: '5' }, cost: { min: '0.001' } } }, /ADA\/BTC: limits.amount.max: max 5 is below min 10/],
    [{ ...ada, base: 'XRP' }, /ADA\/BTC: symbol: .*does not match/],
    [{ ...ada, symbol: 'ETH/BTC', base: 'ETH' }, /ADA\/BTC: symbol: is ETH\/BTC, expected the key/],
    [{ ...ada, precision: undefined }, /ADA\/BTC: precision:/],
  ])('names the market and field of bad rules (%#)', (market, message) => {
    expect(() => loadMarketRules({ 'ADA/BTC': market })).toThrow(MarketRulesError);
    expect(() => loadMarketRules({ 'ADA/BTC': market })).toThrow(message);
  });

  it('refuses input that is not a collection of markets', () => {
    expect(() => loadMarketRules(null)).toThrow(/keyed by symbol or an array/);
    expect(() => loadMarketRules('ADA/BTC')).toThrow(/keyed by symbol or an array/);
    expect(() => loadMarketRules([ada, ada])).toThrow(/listed twice/);
  });
});
