import type { BotDefinition } from './bot.ts';
import type { CandleWindow } from './candle.ts';
import { SignalSchema, type Signal } from './signal.ts';

/**
 * Calling a bot's code and checking what comes back: the one place both the pipeline's bot
 * threads and the backtester do it, so that a bot is held to the same contract in both.
 */

export type BotCallResult<T> = { ok: true; value: T } | { ok: false; kind: 'failed'; message: string } | { ok: false; kind: 'output'; problems: string[] };

export interface AnalyzeCall {
  symbol: string;
  timeframe: string;
  params: Record<string, unknown>;
  candles: CandleWindow;
  others: Readonly<Record<string, CandleWindow>>;
  inventory: number;
  model: unknown;
}

export type TrainCall = Pick<AnalyzeCall, 'symbol' | 'timeframe' | 'params' | 'candles'>;

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

/** Runs `analyze` synchronously and checks its signal; a throw or a bad signal is a result, never an exception. */
export function analyzeWith(bot: BotDefinition, call: AnalyzeCall, params: unknown): BotCallResult<Signal> {
  let output: unknown;
  try {
    output = bot.analyze({ symbol: call.symbol, timeframe: call.timeframe, candles: call.candles, params: params as never, others: call.others, inventory: call.inventory, model: call.model ?? undefined });
  } catch (error) {
    return { ok: false, kind: 'failed', message: messageOf(error) };
  }
  if (output !== null && typeof output === 'object' && typeof (output as { then?: unknown }).then === 'function') {
    // Keep a rejected promise from surfacing as an unhandled rejection.
    Promise.resolve(output).catch(() => undefined);
    return { ok: false, kind: 'output', problems: ['analyze returned a Promise; it must return a signal synchronously'] };
  }
  const checked = SignalSchema.safeParse(output);
  if (!checked.success) {
    return { ok: false, kind: 'output', problems: checked.error.issues.map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(signal)'}: ${i.message}`) };
  }
  return { ok: true, value: checked.data };
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
