/**
 * The default bot instances: every bundled bot, in a few parameter variants, spread over the
 * bundled markets so that each market has about twenty bots (a regime detector and a crash
 * guard on every one, and a rotating mix of the others), 220 instances in all. They are plain
 * config: `quorum config check` prints them, and a config file replaces them.
 */

interface Variant {
  name: string;
  params: Record<string, unknown>;
}

/** Voting bots and their variants; each market gets a different window of this list. */
const VOTERS: Array<{ bot: string; variants: Variant[] }> = [
  { bot: 'ema-crossover', variants: [{ name: 'fast', params: { fast: 9, slow: 21 } }, { name: 'slow', params: { fast: 20, slow: 50 } }] },
  { bot: 'macd-cross', variants: [{ name: 'std', params: {} }, { name: 'quick', params: { fast: 8, slow: 17, signal: 9 } }] },
  { bot: 'adx-dmi', variants: [{ name: 'std', params: {} }, { name: 'strict', params: { threshold: 30 } }] },
  { bot: 'supertrend', variants: [{ name: 'std', params: {} }, { name: 'tight', params: { period: 7, multiplier: 2 } }] },
  { bot: 'ichimoku', variants: [{ name: 'std', params: {} }] },
  { bot: 'parabolic-sar', variants: [{ name: 'std', params: {} }, { name: 'slow', params: { step: 0.01, max: 0.1 } }] },
  { bot: 'rsi-reversion', variants: [{ name: '14', params: {} }, { name: '7', params: { period: 7, oversold: 25, overbought: 75 } }] },
  { bot: 'stochastic', variants: [{ name: 'std', params: {} }] },
  { bot: 'rate-of-change', variants: [{ name: '12', params: {} }, { name: '24', params: { period: 24, lookback: 96 } }] },
  { bot: 'williams-r', variants: [{ name: 'std', params: {} }] },
  { bot: 'cci', variants: [{ name: '20', params: {} }, { name: '40', params: { period: 40 } }] },
  { bot: 'bollinger-reversion', variants: [{ name: '20', params: {} }, { name: 'wide', params: { period: 30, stdDevs: 2.5 } }] },
  { bot: 'zscore-reversion', variants: [{ name: 'std', params: {} }] },
  { bot: 'keltner-reversion', variants: [{ name: 'std', params: {} }] },
  { bot: 'donchian-breakout', variants: [{ name: '20', params: {} }, { name: '55', params: { period: 55 } }] },
  { bot: 'atr-channel-breakout', variants: [{ name: 'std', params: {} }] },
  { bot: 'volume-breakout', variants: [{ name: 'std', params: {} }] },
  { bot: 'obv-trend', variants: [{ name: 'std', params: {} }] },
  { bot: 'vwap-deviation', variants: [{ name: 'std', params: {} }] },
  { bot: 'money-flow', variants: [{ name: 'std', params: {} }] },
  { bot: 'grid', variants: [{ name: 'std', params: {} }] },
  { bot: 'market-maker', variants: [{ name: 'std', params: {} }] },
  { bot: 'pairs-zscore', variants: [{ name: 'eth', params: {} }] },
  { bot: 'ml-forest', variants: [{ name: 'std', params: {} }] },
];

/** On every market: they shape the others' votes rather than vote. */
const ON_EVERY_MARKET = [
  { bot: 'regime-detector', name: 'std', params: {} },
  { bot: 'crash-guard', name: 'std', params: {} },
];

/** The markets of the bundled data (data/ohlcv, data/markets.json). */
export const BUNDLED_MARKETS = ['ADA/BTC', 'DASH/BTC', 'ETC/BTC', 'ETH/BTC', 'LTC/BTC', 'NXT/BTC', 'TRX/BTC', 'XLM/BTC', 'XMR/BTC', 'ZEC/BTC', 'XRP/ETH'];

const VOTERS_PER_MARKET = 18;

export interface DefaultInstance {
  id: string;
  bot: string;
  markets: string[];
  params: Record<string, unknown>;
  weight: number;
  enabled: boolean;
}

export function defaultInstances(): DefaultInstance[] {
  const out: DefaultInstance[] = [];
  BUNDLED_MARKETS.forEach((market, m) => {
    const suffix = market.replace('/', '-').toLowerCase();
    for (const e of ON_EVERY_MARKET) out.push({ id: `${e.bot}-${e.name}-${suffix}`, bot: e.bot, markets: [market], params: e.params, weight: 1, enabled: true });
    for (let k = 0; k < VOTERS_PER_MARKET; k++) {
      // Market m starts its window further down the list, so together the markets cover every bot.
      const { bot, variants } = VOTERS[(m * 5 + k) % VOTERS.length]!;
      const variant = variants[(m + k) % variants.length]!;
      // A pairs bot needs a partner other than itself, in the same quote currency.
      if (bot === 'pairs-zscore' && (market === 'ETH/BTC' || !market.endsWith('/BTC'))) continue;
      out.push({ id: `${bot}-${variant.name}-${suffix}`, bot, markets: [market], params: variant.params, weight: 1, enabled: true });
    }
  });
  return out;
}
