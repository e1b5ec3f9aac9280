import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MarketRules } from '../../core/market.ts';
import { loadMarketRules } from '../../core/marketRulesSchema.ts';
import { CLIENT_ORDER_ID_PATTERN, clientOrderIdFor, type OrderIntent } from '../../core/order.ts';
import { Dec, isMultipleOf, toPlain } from '../../core/precision.ts';
import { type AlgoSettings, childClientOrderId, MAX_CHILD_INDEX, MAX_CHILDREN, planSlices, type SlicePlan } from './slicing.ts';

const MARKETS = loadMarketRules(JSON.parse(readFileSync(new URL('../../../data/markets.json', import.meta.url), 'utf8')));
const ADA = MARKETS['ADA/BTC']!; // step 1, min amount 1, min cost 0.001 BTC
const ETH = MARKETS['ETH/BTC']!; // step 0.001, min amount 0.001, min cost 0.001 BTC

const PARENT = clientOrderIdFor({ account: 'paper-main', symbol: 'ADA/BTC', timeframe: '5m', decisionTs: 1515560100000, side: 'buy', purpose: 'entry' });
const PARENT_SELL = clientOrderIdFor({ account: 'paper-main', symbol: 'ETH/BTC', timeframe: '5m', decisionTs: 1515560100000, side: 'sell', purpose: 'exit' });

const intent = (over: Partial<OrderIntent> = {}): OrderIntent =>
  ({ clientOrderId: PARENT, symbol: 'ADA/BTC', side: 'buy', type: 'market', amount: '1000', decisionTs: 1515560100000, reason: 'test', ...over }) as OrderIntent;

const twap = (over: Partial<AlgoSettings> = {}): AlgoSettings => ({ kind: 'twap', thresholdQuote: '0.01', slices: 3, intervalMs: 60_000, visibleShare: 0.1, ...over });
const iceberg = (over: Partial<AlgoSettings> = {}): AlgoSettings => ({ ...twap(), kind: 'iceberg', ...over });

const amounts = (plan: SlicePlan) => plan.children.map((c) => c.amount);
const sum = (plan: SlicePlan) => toPlain(plan.children.reduce((s, c) => s.plus(c.amount), new Dec(0)));

describe('childClientOrderId', () => {
  it('gives the same id for the same parent and index', () => {
    expect(childClientOrderId(PARENT, 3)).toBe(childClientOrderId(PARENT, 3));
  });

  it('keeps the side prefix and the readable symbol of the parent and spells out the index', () => {
    expect(childClientOrderId(PARENT, 0)).toMatch(/^qb-ADABTC-c0-[0-9a-f]{20}$/);
    expect(childClientOrderId(PARENT_SELL, 42)).toMatch(/^qs-ETHBTC-c42-[0-9a-f]{20}$/);
  });

  it('stays a valid id of at most 36 chars for long labels and the largest index', () => {
    const long = clientOrderIdFor({ account: 'a', symbol: 'VERYLONGBASENAME1234/VERYLONGQUOTE1234', timeframe: '5m', decisionTs: 0, side: 'sell', purpose: 'entry' });
    for (const parent of [long, 'x'.repeat(36), 'qb-', 'a', '__--__']) {
      for (const index of [0, 9, 999, MAX_CHILD_INDEX]) {
        const id = childClientOrderId(parent, index);
        expect(id, `${parent} #${index}`).toMatch(CLIENT_ORDER_ID_PATTERN);
        expect(id).not.toBe(parent);
      }
    }
    expect(childClientOrderId(long, 1).startsWith('qs-VERYLONG')).toBe(true);
  });

  it('differs per index, per parent and from the parent itself', () => {
    const ids = new Set<string>();
    for (let i = 0; i < MAX_CHILDREN; i++) ids.add(childClientOrderId(PARENT, i));
    for (let i = 0; i < MAX_CHILDREN; i++) ids.add(childClientOrderId(PARENT_SELL, i));
    expect(ids.size).toBe(2 * MAX_CHILDREN);
    expect(ids.has(PARENT)).toBe(false);
    expect(ids.has(PARENT_SELL)).toBe(false);
  });

  it('does not give a child of a child the id of a sibling', () => {
    const child = childClientOrderId(PARENT, 1);
    expect(childClientOrderId(child, 1)).not.toBe(child);
    expect(childClientOrderId(child, 1)).not.toBe(childClientOrderId(PARENT, 1));
  });

  it('refuses an invalid parent id or index', () => {
    expect(() => childClientOrderId('', 0)).toThrow(/parentClientOrderId/);
    expect(() => childClientOrderId('has:colon', 0)).toThrow(/parentClientOrderId/);
    expect(() => childClientOrderId('x'.repeat(37), 0)).toThrow(/parentClientOrderId/);
    for (const index of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_CHILD_INDEX + 1]) {
      expect(() => childClientOrderId(PARENT, index)).toThrow(/index/);
    }
  });
});

describe('planSlices, when not to slice', () => {
  it('sends an intent at or below the threshold whole', () => {
    // 1000 ADA × 0.00001 = 0.01 BTC: not above the threshold of 0.01.
    expect(planSlices(intent(), '0.00001', ADA, twap({ thresholdQuote: '0.01' }))).toEqual({ algo: 'none', children: [] });
    expect(planSlices(intent(), '0.00001', ADA, iceberg({ thresholdQuote: '0.02' }))).toEqual({ algo: 'none', children: [] });
    expect(planSlices(intent(), '0.0000101', ADA, twap({ thresholdQuote: '0.01' })).algo).toBe('twap');
  });

  it('sends every intent whole when no algo is configured', () => {
    expect(planSlices(intent({ amount: '90000000' }), '1', ADA, undefined)).toEqual({ algo: 'none', children: [] });
  });

  it('sends an intent whole when the settings ask for one slice or a visible share of 1', () => {
    const one = planSlices(intent(), '0.001', ADA, twap({ slices: 1 }));
    expect(one.algo).toBe('none');
    expect(one.children).toEqual([]);
    expect(one.note).toMatch(/slices = 1/);
    const whole = planSlices(intent(), '0.001', ADA, iceberg({ visibleShare: 1 }));
    expect(whole.algo).toBe('none');
    expect(whole.note).toMatch(/whole/);
  });

  it('sends an intent whole with a note when not even two children would meet the market minimums', () => {
    // At 0.00001 BTC an ADA child needs 100 ADA to cost 0.001 BTC: 199 ADA cannot make two.
    const plan = planSlices(intent({ amount: '199' }), '0.00001', ADA, twap({ thresholdQuote: '0' }));
    expect(plan.algo).toBe('none');
    expect(plan.children).toEqual([]);
    expect(plan.note).toMatch(/minimum cost 0\.001 BTC/);
    expect(planSlices(intent({ amount: '199' }), '0.00001', ADA, iceberg({ thresholdQuote: '0' })).algo).toBe('none');
  });

  it('sends an iceberg whole when its remainder could only join the single child', () => {
    // 250 ADA at 0.00001: minimum child 100 ADA; 70 % visible = 175, remainder 75 is too small.
    const plan = planSlices(intent({ amount: '250' }), '0.00001', ADA, iceberg({ thresholdQuote: '0', visibleShare: 0.7 }));
    expect(plan).toMatchObject({ algo: 'none', children: [] });
    expect(plan.note).toMatch(/remainder/);
  });
});

describe('planSlices, TWAP', () => {
  it('cuts the parent into equal children on the step and gives the dust to the last one', () => {
    const plan = planSlices(intent(), '0.001', ADA, twap());
    expect(plan.algo).toBe('twap');
    expect(plan.note).toBeUndefined();
    expect(plan.children).toEqual([
      { index: 0, clientOrderId: childClientOrderId(PARENT, 0), amount: '333', offsetMs: 0 },
      { index: 1, clientOrderId: childClientOrderId(PARENT, 1), amount: '333', offsetMs: 60_000 },
      { index: 2, clientOrderId: childClientOrderId(PARENT, 2), amount: '334', offsetMs: 120_000 },
    ]);
  });

  it('sums exactly to a fractional parent amount', () => {
    const plan = planSlices(intent({ clientOrderId: PARENT_SELL, symbol: 'ETH/BTC', side: 'sell', amount: '1.001' }), '0.09', ETH, twap({ slices: 3 }));
    expect(amounts(plan)).toEqual(['0.333', '0.333', '0.335']);
    expect(sum(plan)).toBe('1.001');
    expect(plan.children[0]!.clientOrderId.startsWith('qs-ETHBTC-c0-')).toBe(true);
  });

  it('uses the largest number of slices that keeps every child above the minimum cost', () => {
    // 350 ADA at 0.00001 BTC: a child needs ≥ 100 ADA, so 3 slices instead of 10.
    const plan = planSlices(intent({ amount: '350' }), '0.00001', ADA, twap({ thresholdQuote: '0', slices: 10, intervalMs: 1000 }));
    expect(plan.algo).toBe('twap');
    expect(amounts(plan)).toEqual(['116', '116', '118']);
    expect(plan.children.map((c) => c.offsetMs)).toEqual([0, 1000, 2000]);
    expect(plan.note).toMatch(/only 3 of 10 slices/);
  });

  it('checks the minimum cost of a limit order at its limit price when that is lower', () => {
    // At the limit price 0.000005 a child needs 200 ADA: 1000 ADA make 5 slices, not 10.
    const limit = intent({ type: 'limit', price: '0.000005' } as Partial<OrderIntent>);
    const plan = planSlices(limit, '0.00001', ADA, twap({ thresholdQuote: '0', slices: 10 }));
    expect(amounts(plan)).toEqual(['200', '200', '200', '200', '200']);
  });

  it('allows up to MAX_CHILDREN slices', () => {
    const plan = planSlices(intent({ amount: '90000000' }), '0.0001', ADA, twap({ slices: MAX_CHILDREN, intervalMs: 1 }));
    expect(plan.children).toHaveLength(MAX_CHILDREN);
    expect(plan.children.at(-1)!.offsetMs).toBe(MAX_CHILDREN - 1);
    expect(sum(plan)).toBe('90000000');
  });
});

describe('planSlices, iceberg', () => {
  it('shows the visible share at a time, all children sent in sequence with no offset', () => {
    const plan = planSlices(intent(), '0.001', ADA, iceberg({ visibleShare: 0.1 }));
    expect(plan.algo).toBe('iceberg');
    expect(amounts(plan)).toEqual(Array(10).fill('100'));
    expect(plan.children.every((c) => c.offsetMs === 0)).toBe(true);
    expect(plan.children.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('gives a remainder that meets the minimums its own last child', () => {
    const plan = planSlices(intent(), '0.001', ADA, iceberg({ visibleShare: 0.3 }));
    expect(amounts(plan)).toEqual(['300', '300', '300', '100']);
  });

  it('adds a remainder below the minimums to the last child', () => {
    // At 0.00001 a child needs 100 ADA. 1050 × 30 % = 315 per child, remainder 105 → own child;
    // 1090 × 25 % = 272 per child, remainder 2 → joins the last.
    expect(amounts(planSlices(intent({ amount: '1050' }), '0.00001', ADA, iceberg({ thresholdQuote: '0', visibleShare: 0.3 })))).toEqual(['315', '315', '315', '105']);
    expect(amounts(planSlices(intent({ amount: '1090' }), '0.00001', ADA, iceberg({ thresholdQuote: '0', visibleShare: 0.25 })))).toEqual(['272', '272', '272', '274']);
  });

  it('raises children to the market minimum and says so', () => {
    // 1 % of 1000 ADA is 10, but at 0.00001 BTC a child needs 100 ADA.
    const plan = planSlices(intent(), '0.00001', ADA, iceberg({ thresholdQuote: '0', visibleShare: 0.01 }));
    expect(amounts(plan)).toEqual(Array(10).fill('100'));
    expect(plan.note).toMatch(/minimum of 100 ADA/);
  });

  it('uses bigger children rather than more than MAX_CHILDREN', () => {
    const plan = planSlices(intent({ amount: '100000' }), '1', ADA, iceberg({ visibleShare: 0.0001 }));
    expect(plan.children).toHaveLength(MAX_CHILDREN);
    expect(new Set(amounts(plan))).toEqual(new Set(['100']));
    expect(plan.note).toMatch(/within 1000 children/);
  });
});

describe('planSlices, refusals', () => {
  it('names the invalid settings field', () => {
    const bad: [Partial<AlgoSettings>, RegExp][] = [
      [{ kind: 'vwap' as 'twap' }, /kind/],
      [{ thresholdQuote: '-1' }, /thresholdQuote/],
      [{ thresholdQuote: 'lots' }, /thresholdQuote/],
      [{ thresholdQuote: 5 as unknown as string }, /thresholdQuote/],
      [{ slices: 0 }, /slices/],
      [{ slices: 2.5 }, /slices/],
      [{ slices: Number.NaN }, /slices/],
      [{ slices: MAX_CHILDREN + 1 }, /slices/],
      [{ intervalMs: -1 }, /intervalMs/],
      [{ intervalMs: Number.POSITIVE_INFINITY }, /intervalMs/],
      [{ intervalMs: Number.MAX_SAFE_INTEGER }, /intervalMs/],
      [{ visibleShare: 0 }, /visibleShare/],
      [{ visibleShare: 1.01 }, /visibleShare/],
      [{ visibleShare: Number.NaN }, /visibleShare/],
    ];
    for (const [over, field] of bad) {
      expect(() => planSlices(intent(), '0.001', ADA, twap(over)), JSON.stringify(over)).toThrow(field);
      expect(() => planSlices(intent(), '0.001', ADA, iceberg(over)), JSON.stringify(over)).toThrow(field);
    }
  });

  it('refuses a reference price, amount or limit price that is not a positive decimal', () => {
    for (const refPrice of ['0', '-1', 'NaN', 'Infinity', '0x10', '']) {
      expect(() => planSlices(intent(), refPrice, ADA, twap()), refPrice).toThrow(/refPrice/);
    }
    for (const amount of ['0', '-5', 'abc']) expect(() => planSlices(intent({ amount }), '0.001', ADA, twap())).toThrow(/intent\.amount/);
    expect(() => planSlices(intent({ type: 'limit', price: '0' } as Partial<OrderIntent>), '0.001', ADA, twap())).toThrow(/intent\.price/);
  });

  it('refuses an amount off the market step rather than planning children that cannot sum to it', () => {
    expect(() => planSlices(intent({ amount: '1000.5' }), '0.001', ADA, twap())).toThrow(/not a multiple of the amount step 1/);
  });
});

describe('planSlices, properties over the bundled markets', () => {
  const symbols = Object.keys(MARKETS);
  const cases = fc.record({
    symbol: fc.constantFrom(...symbols),
    units: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 2_000_000_000 })),
    // Prices from 1e-8 to 10 in steps of 1e-8.
    priceTicks: fc.integer({ min: 1, max: 1_000_000_000 }),
    kind: fc.constantFrom<'twap' | 'iceberg'>('twap', 'iceberg'),
    slices: fc.integer({ min: 1, max: MAX_CHILDREN }),
    intervalMs: fc.integer({ min: 0, max: 3_600_000 }),
    visibleShare: fc.oneof(fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.constantFrom(1, 0.5, 0.1, 0.0001)),
    side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
  });

  type Case = typeof cases extends fc.Arbitrary<infer T> ? T : never;
  const setup = (c: Case) => {
    const rules: MarketRules = MARKETS[c.symbol]!;
    const step = new Dec(rules.precision.amount);
    const parentId = clientOrderIdFor({ account: 'prop', symbol: c.symbol, timeframe: '1m', decisionTs: c.units, side: c.side, purpose: 'entry' });
    const parent = intent({ clientOrderId: parentId, symbol: c.symbol, side: c.side, amount: toPlain(step.times(c.units)) });
    const price = toPlain(new Dec(c.priceTicks).times('0.00000001'));
    const settings: AlgoSettings = { kind: c.kind, thresholdQuote: '0', slices: c.slices, intervalMs: c.intervalMs, visibleShare: c.visibleShare };
    return { rules, parent, price, settings };
  };

  it('plans children that sum exactly to the parent, sit on the step and meet the minimums', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { rules, parent, price, settings } = setup(c);
        const plan = planSlices(parent, price, rules, settings);
        if (plan.algo === 'none') {
          expect(plan.children).toEqual([]);
          return;
        }
        expect(plan.algo).toBe(c.kind);
        expect(plan.children.length).toBeGreaterThanOrEqual(2);
        expect(plan.children.length).toBeLessThanOrEqual(c.kind === 'twap' ? c.slices : MAX_CHILDREN);
        expect(sum(plan)).toBe(parent.amount);
        // One boolean per child (not one expect per check): up to 1000 children in each of 500 runs.
        const bad = plan.children.find((child) => {
          const a = new Dec(child.amount);
          return !(
            a.isFinite() &&
            a.gt(0) &&
            child.amount === toPlain(a) && // plain decimal: no exponent, no "-0"
            isMultipleOf(a, rules.precision.amount) &&
            a.gte(rules.limits.amount.min) &&
            a.times(price).gte(rules.limits.cost.min) &&
            Number.isSafeInteger(child.offsetMs) &&
            child.offsetMs >= 0
          );
        });
        expect(bad).toBeUndefined();
        expect(plan.children.map((ch) => ch.offsetMs)).toEqual(plan.children.map((ch) => (c.kind === 'twap' ? ch.index * c.intervalMs : 0)));
      }),
      { numRuns: 500 },
    );
  });

  it('gives children distinct valid ids, never the parent id, in index order', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { rules, parent, price, settings } = setup(c);
        const plan = planSlices(parent, price, rules, settings);
        const ids = plan.children.map((ch) => ch.clientOrderId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).not.toContain(parent.clientOrderId);
        expect(plan.children.map((ch) => ch.index)).toEqual(plan.children.map((_, i) => i));
        const prefix = c.side === 'buy' ? 'qb-' : 'qs-';
        expect(ids.find((id) => !CLIENT_ORDER_ID_PATTERN.test(id) || !id.startsWith(prefix))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same input gives the same plan', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { rules, parent, price, settings } = setup(c);
        expect(planSlices({ ...parent }, price, { ...rules }, { ...settings })).toEqual(planSlices(parent, price, rules, settings));
      }),
      { numRuns: 200 },
    );
  });

  it('uses as many TWAP slices as the settings ask for, or else as many as the minimums allow', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { rules, parent, price, settings } = setup({ ...c, kind: 'twap' });
        const plan = planSlices(parent, price, rules, settings);
        const n = plan.children.length;
        if (n === c.slices || c.slices === 1) return;
        // One more slice (or, when not sliced, two) would put an equal child below a minimum.
        const step = new Dec(rules.precision.amount);
        const equal = new Dec(c.units).divToInt(Math.max(n, 1) + 1).times(step);
        expect(equal.lt(rules.limits.amount.min) || equal.times(price).lt(rules.limits.cost.min)).toBe(true);
        if (n > 0) expect(plan.note).toMatch(new RegExp(`only ${n} of ${c.slices} slices`));
        else expect(plan.note).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });
});
