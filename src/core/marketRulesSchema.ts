import { z } from 'zod';
import { isSymbol, type MarketRules } from './market.ts';
import { toPlain, tryDecimal } from './precision.ts';

type Bound = 'positive' | 'non-negative' | 'fee-rate';

/**
 * A decimal given as a string or (as ccxt does) a number, normalised to a plain decimal string.
 * `ifMissing` is what null or undefined means (ccxt leaves unknown limits empty); none = required.
 */
function decimal<M extends string | undefined = never>(bound: Bound, ifMissing?: { value: M }) {
  // .optional() so that an absent key reaches the transform and gets its clear message or default.
  return z.unknown().optional().transform((value, ctx): string | M => {
    if ((value === null || value === undefined) && ifMissing) return ifMissing.value;
    const d = typeof value === 'string' || typeof value === 'number' ? tryDecimal(value) : undefined;
    if (d === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a finite decimal (string or number), got ${JSON.stringify(value) ?? 'undefined'}` });
      return z.NEVER;
    }
    const ok = bound === 'positive' ? d.gt(0) : bound === 'non-negative' ? d.gte(0) : d.gt(-1) && d.lt(1);
    if (!ok) {
      const wanted = bound === 'fee-rate' ? 'a fee rate in (-1, 1)' : `a ${bound} number`;
      ctx.addIssue({ code: 'custom', message: `expected ${wanted}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return toPlain(d);
  });
}

/** One market's rules; extra ccxt keys (id, active, info, ...) are accepted and dropped. */
export const MarketRulesSchema = z
  .object({
    symbol: z.string().refine(isSymbol, { message: 'expected a unified symbol such as "ADA/BTC"' }),
    base: z.string().min(1),
    quote: z.string().min(1),
    precision: z.object({ amount: decimal('positive'), price: decimal('positive') }),
    limits: z.object({
      amount: z.object({ min: decimal('non-negative', { value: '0' }), max: decimal('positive', { value: undefined }) }),
      cost: z.object({ min: decimal('non-negative', { value: '0' }) }),
    }),
    taker: decimal('fee-rate'),
    maker: decimal('fee-rate'),
  })
  .superRefine((m, ctx) => {
    if (m.symbol !== `${m.base}/${m.quote}`) {
      ctx.addIssue({ code: 'custom', path: ['symbol'], message: `symbol ${m.symbol} does not match base ${m.base} and quote ${m.quote}` });
    }
    const max = m.limits.amount.max;
    if (max !== undefined && tryDecimal(max)!.lt(tryDecimal(m.limits.amount.min)!)) {
      ctx.addIssue({ code: 'custom', path: ['limits', 'amount', 'max'], message: `max ${max} is below min ${m.limits.amount.min}` });
    }
    if (tryDecimal(m.taker)!.lt(0)) {
      // Makers may earn rebates; a market order always pays.
      ctx.addIssue({ code: 'custom', path: ['taker'], message: `taker fee ${m.taker} must not be negative` });
    }
  });

export class MarketRulesError extends Error {
  override readonly name = 'MarketRulesError';
}

/**
 * Validates market rules: a record keyed by symbol (data/markets.json, ccxt's `exchange.markets`)
 * or an array (ccxt's `fetchMarkets()`). Throws a MarketRulesError naming the market and field.
 */
export function loadMarketRules(json: unknown): Record<string, MarketRules> {
  let entries: [string, unknown][];
  if (Array.isArray(json)) {
    entries = json.map((m, i) => {
      const symbol = typeof m === 'object' && m !== null && 'symbol' in m ? String(m.symbol) : `#${i}`;
      return [symbol, m];
    });
  } else if (typeof json === 'object' && json !== null) {
    entries = Object.entries(json);
  } else {
    throw new MarketRulesError(`market rules must be an object keyed by symbol or an array, got ${json === null ? 'null' : typeof json}`);
  }
  const out: Record<string, MarketRules> = {};
  for (const [key, value] of entries) {
    const parsed = MarketRulesSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length > 0 ? issue.path.join('.') : '(market)';
      throw new MarketRulesError(`market rules for ${key}: ${field}: ${issue.message}`);
    }
    if (parsed.data.symbol !== key && !Array.isArray(json)) {
      throw new MarketRulesError(`market rules for ${key}: symbol: is ${parsed.data.symbol}, expected the key ${key}`);
    }
    if (Object.hasOwn(out, parsed.data.symbol)) throw new MarketRulesError(`market rules for ${key}: symbol: listed twice`);
    out[parsed.data.symbol] = parsed.data;
  }
  return out;
}
