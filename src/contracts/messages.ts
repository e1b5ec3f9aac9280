import { z } from 'zod';
import { BOT_FAMILIES, BOT_ROLES } from '../core/bot.ts';
import { isSymbol } from '../core/market.ts';
import { OBJECTIVES } from '../core/performance.ts';
import { SignalSchema } from '../core/signal.ts';
import { isTimeframe } from '../core/timeframe.ts';
import { envelope } from './envelope.ts';

const symbol = z.string().refine((v: string): boolean => isSymbol(v), 'must be a unified symbol like "ADA/BTC"');
const timeframe = z.string().refine((v: string): boolean => isTimeframe(v), 'must be a timeframe like "5m"');
const ts = z.number().int().nonnegative();
/** One candle of one series: a step of a replay. */
const step = z.object({ symbol, timeframe, ts }).strict();

const decimal = z.string().regex(/^[0-9]+(\.[0-9]+)?$/, 'must be a non-negative decimal string');

/** Prices are checked for finiteness here; the candle rules themselves are the feed's (validateCandle). */
export const CandlePayload = z
  .object({
    ts,
    open: z.number().finite(),
    high: z.number().finite(),
    low: z.number().finite(),
    close: z.number().finite(),
    volume: z.number().finite(),
  })
  .strict();

export const TickMessage = envelope('tick', 1, {
  symbol,
  timeframe,
  candle: CandlePayload,
  /** Open time of the series' previous accepted candle; the tick waits until that one is stored. */
  prevTs: ts.nullable(),
  /** Wall-clock ms when the feed saw the candle close: the start of candle-to-decision latency. */
  seenAt: ts,
  /**
   * A replay's previous candle across every market: decisions are made in the replay's order, so
   * the account evolves the same way however the workers are timed. Absent: per market only.
   */
  prevStep: step.nullable().optional(),
  /** A replay's newest candle of each other market before this one: what pairs bots and risk windows may read. */
  asOf: z.record(symbol, ts).optional(),
});
export type TickMessage = z.infer<typeof TickMessage>;

export const AnalysisMessage = envelope('analysis', 1, {
  symbol,
  timeframe,
  candleTs: ts,
  instanceId: z.string().min(1),
  botId: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
  warmup: z.number().int().nonnegative(),
  windowSize: z.number().int().positive(),
  /** Other markets whose windows the bot reads (pairs), up to the same candle. */
  others: z.array(symbol).max(20).default([]),
  /** Newest candle each of `others` may be read up to (a replay's order); absent: up to candleTs. */
  othersAsOf: z.record(symbol, ts).optional(),
  /**
   * Inventory-aware bots: the open time of the market's previous candle, whose decision recorded
   * the holding's share of equity that the bot sees (null: the first candle, nothing held).
   * Absent for bots that do not read inventory.
   */
  inventoryFrom: z.object({ prevTs: ts.nullable() }).strict().optional(),
  /** Training schedule of a learning bot; null for the others. */
  model: z
    .object({ trainingWindow: z.number().int().positive(), retrainEvery: z.number().int().positive() })
    .strict()
    .nullable()
    .default(null),
});
export type AnalysisMessage = z.infer<typeof AnalysisMessage>;

/** What an analysis job returns to its coordinator parent. */
export const AnalysisResult = z
  .object({
    instanceId: z.string(),
    botId: z.string(),
    botVersion: z.string(),
    candleTs: ts,
    signal: SignalSchema,
    /** True when the window was shorter than the bot's warm-up: a hold that is not a vote. */
    warmingUp: z.boolean(),
    durationMs: z.number().nonnegative(),
  })
  .strict();
export type AnalysisResult = z.infer<typeof AnalysisResult>;

export const CoordinatorMessage = envelope('coordinator', 1, {
  symbol,
  timeframe,
  candleTs: ts,
  /** Close of the decision candle: the reference price for sizing (fills happen at the next open). */
  close: z.number().finite().positive(),
  /** The series' previous candle: its decision comes first, so a market's decisions are made in order. */
  prevTs: ts.nullable(),
  /** A replay's previous candle across every market: its decision comes first (see TickMessage). */
  prevStep: step.nullable().optional(),
  /** A replay's newest candle of each other market before this one: how far the risk windows of held markets read. */
  asOf: z.record(symbol, ts).optional(),
  seenAt: ts,
  /** Every instance asked, with its weight, so that missing answers are visible in the decision. */
  instances: z.array(
    z
      .object({
        instanceId: z.string(),
        weight: z.number().finite().nonnegative(),
        family: z.enum(BOT_FAMILIES),
        role: z.enum(BOT_ROLES),
      })
      .strict(),
  ),
});
export type CoordinatorMessage = z.infer<typeof CoordinatorMessage>;

const intentFields = {
  clientOrderId: z.string().regex(/^[A-Za-z0-9_-]{1,36}$/, 'must be 1-36 of [A-Za-z0-9_-]'),
  symbol,
  side: z.enum(['buy', 'sell']),
  amount: decimal,
  decisionTs: ts,
  reason: z.string().max(500),
};

/** A market order carries no price (strict: a stray price is refused, not ignored). */
const MarketIntent = z.object({ ...intentFields, type: z.literal('market') }).strict();

/** A limit order rests at `price` (on the market's tick), good till cancelled or for `expiresAfterMs` from the decision candle. */
const LimitIntent = z
  .object({
    ...intentFields,
    type: z.literal('limit'),
    price: decimal.refine((v: string): boolean => /[1-9]/.test(v), 'must be positive'),
    expiresAfterMs: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

export const ExecutionMessage = envelope('execution', 1, {
  account: z.string().min(1),
  // The common fields first, so that a bad payload names every bad field, not just its type.
  intent: z.looseObject({ ...intentFields, type: z.enum(['market', 'limit']) }).pipe(z.discriminatedUnion('type', [MarketIntent, LimitIntent])),
  timeframe,
  seenAt: ts,
  /** Price the order was sized at (the decision candle's close): what a TWAP or iceberg slices by. */
  refPrice: z.number().positive().max(Number.MAX_VALUE).optional(),
  /** Written by the execution job itself when it slices the intent, so that a retry keeps the same plan and schedule. */
  algo: z
    .object({
      startedAt: ts,
      plan: z.object({
        algo: z.enum(['twap', 'iceberg']),
        children: z.array(z.object({ index: z.number().int().nonnegative(), clientOrderId: intentFields.clientOrderId, amount: decimal, offsetMs: z.number().int().nonnegative() }).strict()).min(2).max(1000),
        note: z.string().optional(),
      }).strict(),
    })
    .strict()
    .optional(),
});
export type ExecutionMessage = z.infer<typeof ExecutionMessage>;

const notificationPriority = z.enum(['info', 'warning', 'error', 'critical']);
/** Event names are dotted lower-case words ("order.filled"); the queue's own jobs start with "_" and cannot clash. */
const notificationEvent = z.string().min(1).max(100).regex(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/, 'must be dotted lower-case words, e.g. "order.filled"');

export const NotificationMessage = envelope('notification', 1, {
  priority: notificationPriority,
  event: notificationEvent,
  title: z.string().min(1).max(200),
  body: z.string().max(4000),
  /** Same event and same key within notify.dedupeWindowSeconds: sent once. Unset: the title and body are the key. */
  dedupeKey: z.string().min(1).max(200).optional(),
  /** Sent at once even when its priority is one that is digested (the daily summary). */
  immediate: z.boolean().optional(),
});
export type NotificationMessage = z.infer<typeof NotificationMessage>;

const segment = z.union([z.literal('full'), z.number().int().nonnegative()]);
const parameterValue = z.union([z.number().finite(), z.string().max(200), z.boolean()]);
const span = z.object({ from: ts, to: ts }).strict();

/** One backtest of a sweep: a combination of parameters on one segment of the data. */
/** A path inside the worker's project folder: a job must not make a worker read files elsewhere. */
const projectFile = z
  .string()
  .min(1)
  .max(500)
  .refine((p) => !/^([\\/]|[A-Za-z]:)/.test(p) && !p.split(/[\\/]/).includes('..'), 'must be a path inside the project folder (relative, without "..")');

export const OptimizeRunMessage = envelope('optimize-run', 1, {
  sweepId: z.string().regex(/^[a-z0-9-]{1,40}$/),
  combo: z.number().int().nonnegative(),
  segment,
  span,
  /** Candle files, relative to the worker's project folder (every host runs the same checkout or image). */
  files: z.array(projectFile).min(1).max(500),
  /** The sweep's base configuration, secrets masked (a backtest needs none). */
  config: z.record(z.string(), z.unknown()),
  params: z.record(z.string(), parameterValue),
  currency: z.string().min(1).max(20),
});
export type OptimizeRunMessage = z.infer<typeof OptimizeRunMessage>;

/** The sweep's parent: ranks its runs once they are all done. */
export const OptimizeSweepMessage = envelope('optimize-sweep', 1, {
  sweepId: z.string().regex(/^[a-z0-9-]{1,40}$/),
  objective: z.enum(OBJECTIVES),
  currency: z.string().min(1).max(20),
  grid: z.record(z.string(), z.array(parameterValue).min(1)),
  span,
  parts: z.array(span),
});
export type OptimizeSweepMessage = z.infer<typeof OptimizeSweepMessage>;
/** One notification (or digest) for one channel: the job a failing channel retries on its own. No secret is ever part of it. */
export const NotificationDelivery = envelope('notification-delivery', 1, {
  channel: z.enum(['telegram', 'discord', 'slack', 'webhook', 'email']),
  notification: z
    .object({
      id: z.string().min(1).max(200),
      event: z.string().min(1).max(100),
      priority: notificationPriority,
      title: z.string().min(1).max(400),
      body: z.string().max(4000),
      at: z.number().int().nonnegative(),
    })
    .strict(),
});
export type NotificationDelivery = z.infer<typeof NotificationDelivery>;
