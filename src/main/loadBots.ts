import { resolve } from 'node:path';
import { discoverBots, type DiscoveryReport } from '../registry/discover.ts';
import { resolveInstances, type BotInstance } from '../registry/instances.ts';
import type { Context } from './context.ts';

export interface BotSetup {
  report: DiscoveryReport;
  instances: BotInstance[];
  problems: string[];
}

/** Discovers bots/ and checks every configured instance against them and the replayed markets. */
export async function loadBots(ctx: Pick<Context, 'config' | 'cwd' | 'series' | 'markets'>): Promise<BotSetup> {
  const report = await discoverBots(resolve(ctx.cwd, ctx.config.bots.dir));
  const markets = [...new Set(ctx.series.map((f) => f.symbol))];
  const { instances, problems } = resolveInstances(ctx.config.bots.instances, report, markets, {
    windowSize: ctx.config.bots.windowSize,
    trainingWindow: ctx.config.bots.trainingWindow,
    // Real venues' markets are known once a venue is created (ccxt loads them); until then unchecked.
    venueMarkets: Object.keys(ctx.markets).length > 0 ? new Set(Object.keys(ctx.markets)) : undefined,
  });
  return { report, instances, problems };
}
