import { basename, extname } from 'node:path';
import type { BotInstanceConfig } from '../config/schema.ts';
import type { BotInstance } from '../core/bot.ts';
import type { DiscoveryReport } from './discover.ts';

export type { BotInstance } from '../core/bot.ts';

export interface ResolveOptions {
  /** bots.windowSize: an instance whose warmup exceeds it could never run. */
  windowSize?: number;
  /** bots.trainingWindow: the most a learning bot may train on. */
  trainingWindow?: number;
  /**
   * Every market the venue lists (markets.json). A configured market the venue lists but the feed
   * does not bring is skipped quietly (the instance runs where data arrives); one it does not list
   * is a typo and a problem. Without it, every configured market must be fed.
   */
  venueMarkets?: ReadonlySet<string>;
}

/**
 * Checks every configured instance against the discovered bots and the known markets. An
 * instance with any problem is left out of `instances`; each problem names the instance and field.
 */
export function resolveInstances(
  configured: BotInstanceConfig[],
  report: DiscoveryReport,
  allMarkets: string[],
  options: ResolveOptions = {},
): { instances: BotInstance[]; problems: string[] } {
  const instances: BotInstance[] = [];
  const problems: string[] = [];
  const bots = new Map(report.loaded.map((b) => [b.id, b]));
  const known = new Set(allMarkets);
  const seenIds = new Map<string, number>();

  configured.forEach((cfg, index) => {
    const where = `bots.instances[${index}] (${cfg.id})`;
    const mine: string[] = [];
    const problem = (text: string) => mine.push(`${where}: ${text}`);

    const earlier = seenIds.get(cfg.id);
    if (earlier !== undefined) problem(`id: duplicate of bots.instances[${earlier}]`);
    else seenIds.set(cfg.id, index);

    const markets: string[] = [];
    const venue = options.venueMarkets;
    (cfg.markets ?? ['*']).forEach((m, j) => {
      const expanded = m === '*' ? allMarkets : known.has(m) ? [m] : [];
      if (m !== '*' && !known.has(m) && !venue?.has(m)) problem(`markets[${j}]: "${m}" is not a known market (known: ${listOrNone(venue ? [...venue].sort() : allMarkets)})`);
      for (const s of expanded) if (!markets.includes(s)) markets.push(s);
    });
    if (markets.length === 0 && mine.length === 0 && !venue) problem('markets: resolves to no market');

    const bot = bots.get(cfg.bot);
    if (!bot) {
      problem(`bot "${cfg.bot}" ${whyMissing(cfg.bot, report)}`);
      problems.push(...mine);
      return;
    }

    const raw = cfg.params ?? {};
    const shape = bot.definition.params.shape as Record<string, unknown>;
    for (const key of Object.keys(raw)) {
      if (!(key in shape)) problem(`params.${key}: unknown parameter of bot "${bot.id}" (known: ${listOrNone(Object.keys(shape))})`);
    }
    const parsed = bot.definition.params.safeParse(raw);
    let params: Record<string, unknown> | undefined;
    if (parsed.success) {
      params = parsed.data as Record<string, unknown>;
    } else {
      for (const issue of parsed.error.issues) {
        const path = issue.path.map(String);
        const field = path.length > 0 ? `params.${path.join('.')}` : 'params';
        problem(`${field}: ${issue.message}${path.length > 0 ? ` (got ${show(valueAt(raw, path))})` : ''}`);
      }
    }

    let warmup = 0;
    if (params) {
      try {
        warmup = bot.definition.warmup(params);
        if (!Number.isInteger(warmup) || warmup < 1) {
          problem(`warmup: bot "${bot.id}" asked for ${show(warmup)} candles; expected a positive integer`);
        } else if (options.windowSize !== undefined && warmup > options.windowSize) {
          problem(`params: bot "${bot.id}" needs ${warmup} candles with these params, more than bots.windowSize (${options.windowSize})`);
        }
      } catch (error) {
        problem(`warmup: bot "${bot.id}" threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const otherMarkets: Record<string, string[]> = {};
    const unfed: string[] = [];
    let model: BotInstance['model'] = null;
    if (params) {
      for (const symbol of markets) {
        try {
          const others = bot.definition.otherMarkets?.(params, symbol) ?? [];
          const unknown = others.filter((o) => !known.has(o) && !venue?.has(o));
          if (unknown.length > 0) problem(`params: bot "${bot.id}" on ${symbol} reads ${unknown.join(', ')}, not a known market (known: ${listOrNone(venue ? [...venue].sort() : allMarkets)})`);
          // A market whose partner the feed does not bring cannot be analysed: the instance skips it.
          if (others.some((o) => !known.has(o))) unfed.push(symbol);
          otherMarkets[symbol] = others.filter((o) => o !== symbol && known.has(o));
        } catch (error) {
          problem(`otherMarkets: bot "${bot.id}" threw: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (bot.definition.model) {
        try {
          const trainingWindow = bot.definition.model.trainingWindow(params);
          const retrainEvery = bot.definition.model.retrainEvery(params);
          if (![trainingWindow, retrainEvery].every((x) => Number.isInteger(x) && x >= 1)) {
            problem(`model: bot "${bot.id}" gave trainingWindow ${show(trainingWindow)} and retrainEvery ${show(retrainEvery)}; expected positive integers`);
          } else if (options.trainingWindow !== undefined && trainingWindow > options.trainingWindow) {
            problem(`params: bot "${bot.id}" trains on ${trainingWindow} candles with these params, more than bots.trainingWindow (${options.trainingWindow})`);
          } else {
            model = { trainingWindow, retrainEvery };
          }
        } catch (error) {
          problem(`model: bot "${bot.id}" threw: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }

    if (mine.length > 0 || !params) {
      problems.push(...mine);
      return;
    }
    for (const symbol of unfed) {
      markets.splice(markets.indexOf(symbol), 1);
      delete otherMarkets[symbol];
    }
    instances.push({
      id: cfg.id,
      botId: bot.id,
      botVersion: bot.version,
      family: bot.definition.family,
      role: bot.definition.role ?? 'vote',
      markets,
      params,
      weight: cfg.weight ?? 1,
      warmup,
      enabled: cfg.enabled ?? true,
      otherMarkets,
      model,
    });
  });
  return { instances, problems };
}

/** The enabled instances that analyse `symbol`. */
export function instancesForMarket(instances: readonly BotInstance[], symbol: string): BotInstance[] {
  return instances.filter((i) => i.enabled && i.markets.includes(symbol));
}

function whyMissing(botId: string, report: DiscoveryReport): string {
  // A failed file named after the bot is almost certainly that bot.
  const failed = report.failed.find((f) => basename(f.file, extname(f.file)) === botId);
  if (failed) return `failed to load: ${failed.error}`;
  const known = listOrNone(report.loaded.map((b) => b.id));
  const others = report.failed.length > 0 ? `; files that failed to load: ${report.failed.map((f) => basename(f.file)).join(', ')}` : '';
  return `was not discovered in ${report.dir} (known: ${known})${others}`;
}

function valueAt(value: unknown, path: string[]): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function listOrNone(items: readonly string[]): string {
  return items.length > 0 ? items.join(', ') : 'none';
}
