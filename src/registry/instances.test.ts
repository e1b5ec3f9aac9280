import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MARKETS } from '../config/defaultInstances.ts';
import { ConfigSchema, type BotInstanceConfig } from '../config/schema.ts';
import { discoverBots, type DiscoveryReport } from './discover.ts';
import { instancesForMarket, resolveInstances } from './instances.ts';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const MARKETS = ['ETH/BTC', 'ADA/BTC', 'LTC/BTC'];

/** Instances as the config loader would hand them over: defaults applied. */
function configured(instances: unknown[]): BotInstanceConfig[] {
  return ConfigSchema.parse({ bots: { instances } }).bots.instances;
}

let report: DiscoveryReport;
let fixtures: DiscoveryReport;
beforeAll(async () => {
  report = await discoverBots(join(root, 'bots'));
  fixtures = await discoverBots(join(root, 'test/fixtures/bots'));
});

describe('resolveInstances', () => {
  it('resolves the 200+ default instances against the real bots over the bundled markets: every bot, every market, no problem', () => {
    const defaults = ConfigSchema.parse({}).bots.instances;
    const { instances, problems } = resolveInstances(defaults, report, BUNDLED_MARKETS, { windowSize: 300, trainingWindow: 1000 });
    expect(problems).toEqual([]);
    expect(instances.length).toBe(defaults.length);
    expect(instances.length).toBeGreaterThanOrEqual(200);
    expect(new Set(instances.map((i) => i.botId))).toEqual(new Set(report.loaded.map((b) => b.id)));
    for (const market of BUNDLED_MARKETS) {
      const here = instancesForMarket(instances, market);
      expect(here.length, market).toBeGreaterThanOrEqual(15);
      expect(here.some((i) => i.role === 'regime') && here.some((i) => i.role === 'veto'), market).toBe(true);
    }
    const rsi = instances.find((i) => i.botId === 'rsi-reversion' && i.params.period === 14)!;
    expect(rsi).toMatchObject({ weight: 1, enabled: true, warmup: 43, params: { period: 14, oversold: 30, overbought: 70 } });
    const pairs = instances.filter((i) => i.botId === 'pairs-zscore');
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) expect(p.otherMarkets[p.markets[0]!]!.length).toBe(1);
    expect(instances.find((i) => i.botId === 'ml-forest')!.model).toMatchObject({ trainingWindow: expect.any(Number), retrainEvery: expect.any(Number) });
  });

  it('expands "*" to every fed market and applies the defaults of the params', () => {
    const { instances, problems } = resolveInstances(configured([{ id: 'rsi-14', bot: 'rsi-reversion' }]), report, MARKETS);
    expect(problems).toEqual([]);
    expect(instances[0]).toMatchObject({ botId: 'rsi-reversion', botVersion: '1.0.0', markets: MARKETS, weight: 1, enabled: true, params: { period: 14, oversold: 30, overbought: 70 } });
  });

  it('names the instance and the field of a parameter out of bounds', () => {
    const { instances, problems } = resolveInstances(
      configured([{ id: 'ok', bot: 'donchian-breakout' }, { id: 'x', bot: 'donchian-breakout' }, { id: 'rsi-14', bot: 'rsi-reversion', params: { period: 1 } }]),
      report,
      MARKETS,
    );
    expect(problems).toEqual(['bots.instances[2] (rsi-14): params.period: Too small: expected number to be >=2 (got 1)']);
    expect(instances.map((i) => i.id)).toEqual(['ok', 'x']);
  });

  it('reports cross-field rules, wrong types and unknown parameters', () => {
    const { instances, problems } = resolveInstances(
      configured([
        { id: 'ema-bad', bot: 'ema-crossover', params: { fast: 30, slow: 10 } },
        { id: 'rsi-bad', bot: 'rsi-reversion', params: { period: '14', oversold: 30, overbought: 70, overbougth: 80 } },
      ]),
      report,
      MARKETS,
    );
    expect(instances).toEqual([]);
    expect(problems).toContain('bots.instances[0] (ema-bad): params.fast: fast must be less than slow (got 30)');
    expect(problems).toContain('bots.instances[1] (rsi-bad): params.period: Invalid input: expected number, received string (got "14")');
    expect(problems.some((p) => p.startsWith('bots.instances[1] (rsi-bad): params.overbougth: unknown parameter of bot "rsi-reversion" (known: period, oversold, overbought)'))).toBe(true);
  });

  it('reports a bot that was not discovered, listing the known ones', () => {
    const { instances, problems } = resolveInstances(configured([{ id: 'x', bot: 'nope' }]), report, MARKETS);
    expect(instances).toEqual([]);
    expect(problems).toEqual([`bots.instances[0] (x): bot "nope" was not discovered in ${report.dir} (known: ${report.loaded.map((b) => b.id).join(', ')})`]);
    expect(problems[0]).toContain('ema-crossover, ');
  });

  it('reports a bot whose file failed to load, with the load error', () => {
    const { problems } = resolveInstances(configured([{ id: 'y', bot: 'throws-at-import' }, { id: 'z', bot: 'nope' }]), fixtures, MARKETS);
    expect(problems[0]).toBe('bots.instances[0] (y): bot "throws-at-import" failed to load: throws-at-import.ts: threw while being imported: boom while importing');
    expect(problems[1]).toMatch(/^bots\.instances\[1\] \(z\): bot "nope" was not discovered .*\(known: fixture-good\); files that failed to load: bad-defaults\.ts, bad-shape\.ts, no-default\.ts, same-id-as-good\.ts, syntax-error\.ts, throws-at-import\.ts$/);
  });

  it('reports markets that are not known and de-duplicates the rest', () => {
    const { instances, problems } = resolveInstances(
      configured([
        { id: 'a', bot: 'donchian-breakout', markets: ['ETH/BTC', '*'] },
        { id: 'b', bot: 'donchian-breakout', markets: ['ETH/BTC', 'DOGE/BTC'] },
      ]),
      report,
      MARKETS,
    );
    expect(instances.map((i) => [i.id, i.markets])).toEqual([['a', ['ETH/BTC', 'ADA/BTC', 'LTC/BTC']]]);
    expect(problems).toEqual(['bots.instances[1] (b): markets[1]: "DOGE/BTC" is not a known market (known: ETH/BTC, ADA/BTC, LTC/BTC)']);
  });

  it('skips a market the venue lists but the feed does not bring, and still refuses one the venue does not list', () => {
    const venueMarkets = new Set([...MARKETS, 'XMR/BTC']);
    const { instances, problems } = resolveInstances(
      configured([
        { id: 'fed', bot: 'donchian-breakout', markets: ['ETH/BTC', 'XMR/BTC'] },
        { id: 'idle', bot: 'donchian-breakout', markets: ['XMR/BTC'] },
        { id: 'typo', bot: 'donchian-breakout', markets: ['ETH/BTX'] },
      ]),
      report,
      MARKETS,
      { venueMarkets },
    );
    expect(instances.map((i) => [i.id, i.markets])).toEqual([
      ['fed', ['ETH/BTC']],
      ['idle', []],
    ]);
    expect(problems).toEqual(['bots.instances[2] (typo): markets[0]: "ETH/BTX" is not a known market (known: ADA/BTC, ETH/BTC, LTC/BTC, XMR/BTC)']);
  });

  it('skips a market whose partner market the feed does not bring, and refuses a partner the venue does not list', () => {
    const venueMarkets = new Set([...MARKETS, 'XMR/BTC']);
    const { instances, problems } = resolveInstances(
      configured([
        { id: 'fed', bot: 'pairs-zscore', markets: ['ADA/BTC'], params: { partner: 'ETH/BTC' } },
        { id: 'unfed', bot: 'pairs-zscore', markets: ['ADA/BTC'], params: { partner: 'XMR/BTC' } },
        { id: 'typo', bot: 'pairs-zscore', markets: ['ADA/BTC'], params: { partner: 'ETH/BTX' } },
      ]),
      report,
      MARKETS,
      { venueMarkets },
    );
    expect(instances.map((i) => [i.id, i.markets, i.otherMarkets])).toEqual([
      ['fed', ['ADA/BTC'], { 'ADA/BTC': ['ETH/BTC'] }],
      ['unfed', [], {}],
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^bots.instances\[2\] \(typo\): params/);
  });

  it('reports an instance whose warmup exceeds the window size', () => {
    const { problems } = resolveInstances(configured([{ id: 'slow-ema', bot: 'ema-crossover', params: { fast: 20, slow: 100 } }]), report, MARKETS, { windowSize: 200 });
    expect(problems).toEqual(['bots.instances[0] (slow-ema): params: bot "ema-crossover" needs 300 candles with these params, more than bots.windowSize (200)']);
  });

  it('reports a duplicate instance id even when the config was not validated', () => {
    const list = configured([{ id: 'a', bot: 'donchian-breakout' }]);
    const { problems } = resolveInstances([...list, ...list], report, MARKETS);
    expect(problems).toEqual(['bots.instances[1] (a): id: duplicate of bots.instances[0]']);
  });
});

describe('instancesForMarket', () => {
  it('returns the enabled instances subscribed to the market', () => {
    const { instances } = resolveInstances(
      configured([
        { id: 'all', bot: 'donchian-breakout' },
        { id: 'eth', bot: 'rsi-reversion', markets: ['ETH/BTC'] },
        { id: 'off', bot: 'ema-crossover', enabled: false },
      ]),
      report,
      MARKETS,
    );
    expect(instancesForMarket(instances, 'ETH/BTC').map((i) => i.id)).toEqual(['all', 'eth']);
    expect(instancesForMarket(instances, 'ADA/BTC').map((i) => i.id)).toEqual(['all']);
    expect(instancesForMarket(instances, 'XLM/BTC')).toEqual([]);
  });
});
