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
  /**
   * Windows of the markets the bot asked for with `otherMarkets` (pairs trading), up to the same
   * decision candle; a market with no stored candles yet is absent.
   */
  others: Readonly<Record<string, CandleWindow>>;
  /** Value of the account's holding in this market as a fraction of equity (0 = none); for inventory-aware bots. */
  inventory: number;
  /** The model `train` made for this instance and market, as JSON; undefined for bots without one. */
  model: unknown;
}

/** What `train` sees: only candles up to the end of the last completed training period. */
export interface TrainContext<P> {
  symbol: string;
  timeframe: string;
  candles: CandleWindow;
  params: P;
}

/**
 * A learning bot's model: trained walk-forward on past candles only, once per period of
 * `retrainEvery` candles (every instance and market on the same schedule of candle time, so that
 * any worker trains the same model), persisted in Redis and reloaded for every analysis.
 */
export interface ModelSpec<P> {
  /** Most candles to train on. */
  trainingWindow(params: P): number;
  /** Candles per training period. */
  retrainEvery(params: P): number;
  /** Must be deterministic (seed any randomness) and return plain JSON. */
  train(ctx: TrainContext<P>): unknown;
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
  /** Markets besides the analysed one whose windows `analyze` reads (unified symbols). */
  otherMarkets?(params: z.infer<S>, symbol: string): string[];
  model?: ModelSpec<z.infer<S>>;
}

export function defineBot<S extends z.ZodObject>(definition: Omit<BotDefinition<S>, 'apiVersion'>): BotDefinition<S> {
  return { apiVersion: BOT_API_VERSION, ...definition };
}

/** A configured bot instance, checked against its bot and resolved to concrete markets. */
export interface BotInstance {
  id: string;
  botId: string;
  botVersion: string;
  family: BotFamily;
  role: BotRole;
  /** Resolved symbols, in configured order, without duplicates. */
  markets: string[];
  /** Parsed by the bot's schema, defaults applied. */
  params: Record<string, unknown>;
  weight: number;
  /** Candles the bot needs with these params. */
  warmup: number;
  enabled: boolean;
  /** Per analysed market, the other markets the bot reads (pairs bots). */
  otherMarkets: Record<string, string[]>;
  /** Training schedule of a learning bot with these params; null for the others. */
  model: { trainingWindow: number; retrainEvery: number } | null;
}
