import type { BotContext, BotDefinition } from './bot.ts';
import type { CandleWindow } from './candle.ts';
import { SignalSchema, type Signal } from './signal.ts';

/**
 * Calling a bot's code and checking what comes back: the one place both the pipeline's bot
 * threads and the backtester do it, so that a bot is held to the same contract in both.
 */

export type BotCallResult<T> = { ok: true; value: T } | { ok: false; kind: 'failed'; message: string } | { ok: false; kind: 'output'; problems: string[] };

export interface TrainCall {
  symbol: string;
  timeframe: string;
  params: Record<string, unknown>;
  candles: CandleWindow;
}

/** A thrown value's message, whatever was thrown. */
export function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message || error.name : String(error);
  } catch {
    return 'a value that cannot be shown';
  }
}

/** The instance's params checked by the bot's own schema, or why they were refused. */
export function checkParams(bot: BotDefinition, params: Record<string, unknown>): BotCallResult<unknown> {
  const parsed = bot.params.safeParse(params);
  if (parsed.success) return { ok: true, value: parsed.data };
  const why = parsed.error.issues.map((i) => `${['params', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
  return { ok: false, kind: 'failed', message: `rejected its params: ${why}` };
}

/**
 * Runs `analyze` synchronously on `ctx` (params as checkParams gave them, the model undefined for
 * a bot without one) and checks its signal; a throw or a bad signal is a result, never an
 * exception. The caller builds the context the bot sees: one object per call, not two.
 */
export function analyzeWith(bot: BotDefinition, ctx: BotContext<unknown>): BotCallResult<Signal> {
  let output: unknown;
  try {
    output = bot.analyze(ctx as BotContext<never>);
  } catch (error) {
    return { ok: false, kind: 'failed', message: messageOf(error) };
  }
  if (output !== null && typeof output === 'object' && typeof (output as { then?: unknown }).then === 'function') {
    // Keep a rejected promise from surfacing as an unhandled rejection.
    Promise.resolve(output).catch(() => undefined);
    return { ok: false, kind: 'output', problems: ['analyze returned a Promise; it must return a signal synchronously'] };
  }
  let plain: Signal | undefined;
  try {
    plain = plainSignal(output);
  } catch {
    // A getter or proxy that throws: zod judges it, as it always did.
  }
  if (plain) return { ok: true, value: plain };
  const checked = SignalSchema.safeParse(output);
  if (!checked.success) {
    return { ok: false, kind: 'output', problems: checked.error.issues.map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(signal)'}: ${i.message}`) };
  }
  return { ok: true, value: checked.data };
}

// plainSignal names the schema's keys and actions by hand (a switch and comparisons are cheaper
// than Set lookups); src/core/botCall.test.ts fails if the schema's keys or actions change.
const REGIMES: ReadonlySet<unknown> = new Set(SignalSchema.shape.regime.unwrap().options);

/**
 * The common case of SignalSchema by hand: a plain object whose every field is present and valid
 * gives the same object zod would (same keys, same order, reason defaulted); anything else (a
 * missing or undefined optional, a class instance, a bad value) is undefined and goes to zod, which
 * stays the authority and words the problems. zod's parse was about a tenth of a backtest's
 * time, for answers that are nearly always plain and valid. src/core/botCall.test.ts checks that
 * both agree on arbitrary values.
 */
export function plainSignal(output: unknown): Signal | undefined {
  if (output === null || typeof output !== 'object') return undefined;
  const proto = Object.getPrototypeOf(output) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  // The keys by a for-in walk (own ones only; an inherited enumerable key goes to zod): Object.keys
  // would allocate an array for every signal of every candle.
  let hasReason = false;
  let hasLimitPrice = false;
  let hasRegime = false;
  for (const k in output) {
    switch (k) {
      case 'action':
      case 'confidence':
        break;
      case 'reason':
        hasReason = true;
        break;
      case 'limitPrice':
        hasLimitPrice = true;
        break;
      case 'regime':
        hasRegime = true;
        break;
      default:
        return undefined;
    }
    if (!Object.hasOwn(output, k)) return undefined;
  }
  // Symbol keys are left alone, as zod's strict object leaves them (it succeeds without them).
  const o = output as Record<string, unknown>;
  const action = o.action;
  const confidence = o.confidence;
  const reason = hasReason ? o.reason : undefined;
  if (action !== 'buy' && action !== 'sell' && action !== 'hold') return undefined;
  if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) return undefined;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 200)) return undefined;
  if (reason === undefined && hasReason) return undefined;
  const signal: Signal = { action: action as Signal['action'], confidence, reason: reason ?? '' };
  if (hasLimitPrice) {
    const limitPrice = o.limitPrice;
    if (typeof limitPrice !== 'number' || !(limitPrice > 0 && limitPrice < Infinity)) return undefined;
    signal.limitPrice = limitPrice;
  }
  if (hasRegime) {
    const regime = o.regime;
    if (!REGIMES.has(regime)) return undefined;
    signal.regime = regime as Signal['regime'];
  }
  return signal;
}

/** Trains a learning bot's model; it is kept as JSON, so anything that does not survive the trip is refused here. */
export function trainWith(bot: BotDefinition, call: TrainCall, params: unknown): BotCallResult<unknown> {
  if (!bot.model) return { ok: false, kind: 'failed', message: 'has no model to train' };
  try {
    const model = bot.model.train({ symbol: call.symbol, timeframe: call.timeframe, candles: call.candles, params: params as never });
    return { ok: true, value: JSON.parse(JSON.stringify(model ?? null)) as unknown };
  } catch (error) {
    return { ok: false, kind: 'failed', message: `train: ${messageOf(error)}` };
  }
}
