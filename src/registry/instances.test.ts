import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
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
  it('resolves the default instances against the real bots, expanding "*" and applying defaults', () => {
    const { instances, problems } = resolveInstances(ConfigSchema.parse({}).bots.instances, report, MARKETS, { windowSize: 300 });

    expect(problems).toEqual([]);
    expect(instances.map((i) => i.id)).toEqual(['ema-fast', 'rsi-14', 'donchian-20']);
    const rsi = instances.find((i) => i.id === 'rsi-14')!;
    expect(rsi).toMatchObject({ botId: 'rsi-reversion', botVersion: '1.0.0', markets: MARKETS, weight: 1, enabled: true });
    expect(rsi.params).toEqual({ period: 14, oversold: 30, overbought: 70 });
    expect(rsi.warmup).toBe(43);
    expect(instances.find((i) => i.id === 'ema-fast')!.params).toEqual({ fast: 9, slow: 21, margin: 0.001 });
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
    expect(problems[1]).toMatch(/^bots\.instances\[1\] \(z\): bot "nope" was not discovered .*\(known: fixture-good\); files that failed to load: bad-shape\.ts, no-default\.ts, same-id-as-good\.ts, throws-at-import\.ts$/);
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
