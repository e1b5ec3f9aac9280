import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../../core/candle.ts';
import { applyFill, equity, initialAccount, LedgerError, unrealizedPnl, type AccountState } from '../../core/ledger.ts';
import type { MarketRules } from '../../core/market.ts';
import { clientOrderIdFor, type OrderIntent } from '../../core/order.ts';
import { Dec, roundPrice } from '../../core/precision.ts';
import { orderForTarget } from '../../core/sizing.ts';
import { loadMarketRules } from '../../core/marketRulesSchema.ts';
import { fillMarketOrder } from './fillModel.ts';

// Sizing → fill → ledger, as the backtester chains them, checked step by step for broken invariants.

const PLAIN = /^-?\d+(\.\d+)?$/;
const TF = 300_000;

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function allStrings(state: AccountState): string[] {
  return [
    ...Object.values(state.cash),
    ...Object.values(state.realizedPnl),
    ...Object.values(state.feesPaid),
    ...Object.values(state.positions).flatMap((p) => [p.amount, p.avgPrice, p.costBasis, p.realizedPnl, p.fees]),
  ];
}

interface Stats {
  fills: number;
  buys: number;
  sells: number;
  gapOverdraws: number;
}

/** Trades `candles` toward random targets; returns counts. Every expectation inside is an invariant. */
function run(rules: MarketRules, candles: Candle[], rand: () => number, initialCash: string, slippageBps: number): Stats {
  let state = initialAccount({ [rules.quote]: initialCash });
  const stats: Stats = { fills: 0, buys: 0, sells: 0, gapOverdraws: 0 };
  let fees = new Dec(0);
  for (let i = 0; i + 1 < candles.length; i++) {
    const decision = candles[i]!;
    const next = candles[i + 1]!;
    const cash = state.cash[rules.quote] ?? '0';
    const held = state.positions[rules.symbol]?.amount ?? '0';
    const eq = new Dec(equity(state, rules.quote, { [rules.symbol]: String(decision.close) }));
    const target = rand() < 0.25 ? '0' : eq.times(rand()).toDecimalPlaces(8).toFixed();
    const order = orderForTarget({ rules, currentAmount: held, targetValue: target, price: decision.close, cash, slippageBps });
    if ('skip' in order) continue;
    const intent: OrderIntent = {
      clientOrderId: clientOrderIdFor({ account: 'prop', symbol: rules.symbol, timeframe: '5m', decisionTs: decision.ts, side: order.side, purpose: 'target' }),
      symbol: rules.symbol,
      side: order.side,
      type: 'market',
      amount: order.amount,
      decisionTs: decision.ts,
      reason: 'property',
    };
    const result = fillMarketOrder({ intent, rules, nextCandle: next, slippageBps });
    if ('reject' in result) {
      // Sizing checks the minimum cost at the decision price; a gap down can still push the fill under it.
      expect(result.reject).toMatch(/below the minimum|no price on the/);
      continue;
    }
    const { fill } = result;
    expect(new Dec(fill.price).gte(next.low) && new Dec(fill.price).lte(next.high)).toBe(true);
    expect(fill.ts).toBeGreaterThan(intent.decisionTs);
    let after: AccountState;
    try {
      after = applyFill(state, fill, rules);
    } catch (e) {
      // Only a buy whose next open gapped above the slippage allowance can outrun the cash sizing kept.
      expect(e).toBeInstanceOf(LedgerError);
      expect((e as LedgerError).code).toBe('insufficient-cash');
      expect(fill.side).toBe('buy');
      const worst = roundPrice(new Dec(decision.close).times(1 + slippageBps / 10_000), rules.precision.price, 'up');
      expect(new Dec(fill.price).gt(worst)).toBe(true);
      stats.gapOverdraws++;
      continue;
    }
    state = after;
    stats.fills++;
    if (fill.side === 'buy') stats.buys++;
    else stats.sells++;
    fees = fees.plus(fill.fee);

    for (const s of allStrings(state)) expect(s).toMatch(PLAIN);
    for (const c of Object.values(state.cash)) expect(new Dec(c).gte(0)).toBe(true);
    const pos = state.positions[rules.symbol]!;
    expect(new Dec(pos.amount).gte(0) && new Dec(pos.costBasis).gte(0)).toBe(true);
    expect(state.feesPaid[rules.quote]).toBe(fees.toFixed());
    // Equity change is exactly realised plus unrealised P&L.
    const marks = { [rules.symbol]: String(next.close) };
    const change = new Dec(equity(state, rules.quote, marks)).minus(initialCash);
    const pnl = new Dec(state.realizedPnl[rules.quote] ?? '0').plus(unrealizedPnl(state, rules.quote, marks));
    expect(change.toFixed()).toBe(pnl.toFixed());
  }
  return stats;
}

function randomWalk(rand: () => number, n: number, start: number): Candle[] {
  const eightDp = (x: number) => Math.max(1e-8, Math.round(x * 1e8) / 1e8);
  const out: Candle[] = [];
  let close = start;
  for (let i = 0; i < n; i++) {
    const open = eightDp(close * (1 + (rand() - 0.5) * 0.01)); // gaps, some beyond the slippage allowance
    close = eightDp(open * (1 + (rand() - 0.5) * 0.04));
    const high = eightDp(Math.max(open, close) * (1 + rand() * 0.01));
    const low = eightDp(Math.min(open, close) * (1 - rand() * 0.01));
    out.push({ ts: 1515560100000 + i * TF, open, high, low: Math.min(low, open, close), close, volume: 1 });
  }
  return out;
}

function loadCsv(file: string): Candle[] {
  const text = readFileSync(new URL(`../../../data/ohlcv/${file}`, import.meta.url), 'utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [ts, open, high, low, close, volume] = line.split(',').map(Number) as [number, number, number, number, number, number];
      return { ts, open, high, low, close, volume };
    });
}

const rules = loadMarketRules(JSON.parse(readFileSync(new URL('../../../data/markets.json', import.meta.url), 'utf8')));

describe('sizing → fill → ledger', () => {
  it('never overdraws, never produces NaN and keeps equity = cash + positions over random markets', () => {
    const rand = mulberry32(20180110);
    const markets: [MarketRules, number][] = [
      [rules['ADA/BTC']!, 0.00005],
      [rules['ETH/BTC']!, 0.09],
      [{ ...rules['ETH/BTC']!, precision: { amount: '0.001', price: '0.000001' } }, 0.07],
      [rules['XRP/ETH']!, 0.0014],
    ];
    const total: Stats = { fills: 0, buys: 0, sells: 0, gapOverdraws: 0 };
    for (const [market, start] of markets) {
      const s = run(market, randomWalk(rand, 1000, start), rand, '1', 20);
      for (const k of Object.keys(total) as (keyof Stats)[]) total[k] += s[k];
    }
    expect(total.buys).toBeGreaterThan(300);
    expect(total.sells).toBeGreaterThan(300);
    expect(total.gapOverdraws).toBeGreaterThan(0); // the refusal path was exercised too
  });

  it('keeps its invariants on real candles (ADA/BTC, ETH/BTC, XRP/ETH)', () => {
    const rand = mulberry32(7);
    for (const [file, symbol] of [
      ['ADA_BTC-5m.csv', 'ADA/BTC'],
      ['ETH_BTC-5m.csv', 'ETH/BTC'],
      ['XRP_ETH-5m.csv', 'XRP/ETH'],
    ] as const) {
      const s = run(rules[symbol]!, loadCsv(file).slice(0, 1500), rand, '0.5', 10);
      expect(s.fills).toBeGreaterThan(100);
    }
  });

  it('never overdraws when the next open does not gap above the decision close', () => {
    const rand = mulberry32(99);
    const candles = randomWalk(rand, 2000, 0.00005).map((c, i, all) => {
      if (i === 0) return c;
      const open = Math.min(c.open, all[i - 1]!.close);
      return { ...c, open, low: Math.min(c.low, open) };
    });
    const s = run(rules['ADA/BTC']!, candles, rand, '0.05', 5);
    expect(s.gapOverdraws).toBe(0);
    expect(s.fills).toBeGreaterThan(500);
  });
});
