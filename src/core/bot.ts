import { z } from 'zod';
import type { CandleWindow } from './candle.ts';
import type { Signal } from './signal.ts';

/** Bots import zod from here so that `bots/` depends only on src/core and the indicator library. */
export { z };

/** Version of the bot contract below; a bot written for another major version is refused at load. */
export const BOT_API_VERSION = 1;

/** The kind of strategy: shown by `quorum bots`, and the key the regime weighting works by. */
export const BOT_FAMILIES = [
  'trend',
  'momentum',
  'mean-reversion',
  'breakout',
  'volume',
  'regime',
  'market-making',
  'arbitrage',
  'ml',
  'risk',
] as const;
export type BotFamily = (typeof BOT_FAMILIES)[number];

/**
 * What the coordinator does with a bot's signals.
 * - vote: buy, sell or hold, weighted into the consensus;
 * - veto: a non-hold signal blocks new entries in that market for that candle (exits still run);
 *   its signals are never votes;
 * - regime: says which market regime this is (signal.regime, action hold); the coordinator scales
 *   the other bots' weights by family for that regime (coordinator.regimeWeights).
 */
export const BOT_ROLES = ['vote', 'veto', 'regime'] as const;
export type BotRole = (typeof BOT_ROLES)[number];

export interface BotContext<P> {
  /** Unified symbol of the market being analysed. */
  symbol: string;
  timeframe: string;
  /** The candles up to and including the decision candle, oldest first; never a later one. */
  candles: CandleWindow;
  params: P;
}

/**
 * The plugin contract: one file in bots/ default-exports one of these (see defineBot). Only
 * `analyze` does work; it must be pure and synchronous: same window and params, same signal.
 */
export interface BotDefinition<S extends z.ZodObject = z.ZodObject> {
  apiVersion: typeof BOT_API_VERSION;
  /** Stable id, kebab-case; instances in config refer to it. */
  id: string;
  /** Semver of the bot's logic; recorded with every signal it gives. */
  version: string;
  description: string;
  family: BotFamily;
  /** Defaults to 'vote'. */
  role?: BotRole;
  /** Parameters with defaults and bounds; config is checked against it at start-up. */
  params: S;
  /** How many candles `analyze` needs to say anything; fewer and it is not called. */
  warmup(params: z.infer<S>): number;
  analyze(ctx: BotContext<z.infer<S>>): Signal;
}

export function defineBot<S extends z.ZodObject>(definition: Omit<BotDefinition<S>, 'apiVersion'>): BotDefinition<S> {
  return { apiVersion: BOT_API_VERSION, ...definition };
}
