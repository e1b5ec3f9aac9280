/**
 * Entry of a worker thread that runs bot code for BotRunner (runner.ts). Bots are imported on
 * first use, once per thread. One call runs at a time: `analyze` is synchronous, so a message
 * is handled to the end before the next one starts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { BotDefinition } from '../core/bot.ts';
import type { CandleWindow } from '../core/candle.ts';
import { SignalSchema } from '../core/signal.ts';
import type { Signal } from '../core/signal.ts';

export interface ThreadData {
  /** Bot id → absolute file. */
  bots: Record<string, string>;
}

export interface RunMessage {
  type: 'run';
  /** analyze: a signal; train: a learning bot's model. */
  mode: 'analyze' | 'train';
  callId: number;
  botId: string;
  symbol: string;
  timeframe: string;
  params: Record<string, unknown>;
  length: number;
  /** ts, open, high, low, close, volume, each `length` long, back to back. */
  columns: Float64Array;
  /** Other markets' windows, packed the same way. */
  others: Array<{ symbol: string; length: number; columns: Float64Array }>;
  inventory: number;
  model: unknown;
}

export type ThreadMessage =
  | { type: 'ready' }
  | { type: 'started'; callId: number }
  | { type: 'result'; callId: number; ok: true; signal: Signal }
  | { type: 'result'; callId: number; ok: true; model: unknown }
  | { type: 'result'; callId: number; ok: false; kind: 'failed'; message: string }
  | { type: 'result'; callId: number; ok: false; kind: 'output'; problems: string[] };

const port = parentPort;
if (!port) throw new Error('botThread.ts must run as a worker thread');
const { bots } = workerData as ThreadData;
const modules = new Map<string, Promise<BotDefinition>>();

function load(botId: string): Promise<BotDefinition> {
  let pending = modules.get(botId);
  if (!pending) {
    const file = bots[botId];
    pending = file
      ? import(pathToFileURL(file).href).then((mod: { default?: BotDefinition }) => {
          const bot = mod.default;
          if (!bot || typeof bot.analyze !== 'function') throw new Error(`${file} does not default-export a bot`);
          if (bot.id !== botId) throw new Error(`${file} now exports bot "${bot.id}", not "${botId}"`);
          return bot;
        })
      : Promise.reject(new Error(`no file for bot "${botId}"`));
    modules.set(botId, pending);
  }
  return pending;
}

function post(message: ThreadMessage): void {
  port!.postMessage(message);
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message || error.name : String(error);
  } catch {
    return 'a value that cannot be shown';
  }
}

async function run(msg: RunMessage): Promise<void> {
  const { callId } = msg;
  let bot: BotDefinition;
  try {
    bot = await load(msg.botId);
  } catch (error) {
    post({ type: 'result', callId, ok: false, kind: 'failed', message: `could not be loaded: ${messageOf(error)}` });
    return;
  }
  // From here on, synchronous to the end: the runner's time budget starts now.
  post({ type: 'started', callId });
  const parsed = bot.params.safeParse(msg.params);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${['params', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
    post({ type: 'result', callId, ok: false, kind: 'failed', message: `rejected its params: ${why}` });
    return;
  }
  const candles = unpack(msg.length, msg.columns);
  if (msg.mode === 'train') {
    if (!bot.model) {
      post({ type: 'result', callId, ok: false, kind: 'failed', message: 'has no model to train' });
      return;
    }
    let model: unknown;
    try {
      model = bot.model.train({ symbol: msg.symbol, timeframe: msg.timeframe, candles, params: parsed.data });
      // It is stored as JSON: anything that does not survive the trip is refused here, not later.
      model = JSON.parse(JSON.stringify(model ?? null));
    } catch (error) {
      post({ type: 'result', callId, ok: false, kind: 'failed', message: `train: ${messageOf(error)}` });
      return;
    }
    post({ type: 'result', callId, ok: true, model });
    return;
  }
  const others = Object.fromEntries(msg.others.map((o) => [o.symbol, unpack(o.length, o.columns)]));
  let output: unknown;
  try {
    output = bot.analyze({ symbol: msg.symbol, timeframe: msg.timeframe, candles, params: parsed.data, others, inventory: msg.inventory, model: msg.model ?? undefined });
  } catch (error) {
    post({ type: 'result', callId, ok: false, kind: 'failed', message: messageOf(error) });
    return;
  }
  if (output !== null && typeof output === 'object' && typeof (output as { then?: unknown }).then === 'function') {
    // Keep a rejected promise from crashing the thread as an unhandled rejection.
    Promise.resolve(output).catch(() => undefined);
    post({ type: 'result', callId, ok: false, kind: 'output', problems: ['analyze returned a Promise; it must return a signal synchronously'] });
    return;
  }
  const checked = SignalSchema.safeParse(output);
  if (!checked.success) {
    const problems = checked.error.issues.map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(signal)'}: ${i.message}`);
    post({ type: 'result', callId, ok: false, kind: 'output', problems });
    return;
  }
  post({ type: 'result', callId, ok: true, signal: checked.data });
}

function unpack(n: number, col: Float64Array): CandleWindow {
  return {
    length: n,
    ts: col.subarray(0, n),
    open: col.subarray(n, 2 * n),
    high: col.subarray(2 * n, 3 * n),
    low: col.subarray(3 * n, 4 * n),
    close: col.subarray(4 * n, 5 * n),
    volume: col.subarray(5 * n, 6 * n),
  };
}

port.on('message', (msg: RunMessage) => {
  if (msg?.type === 'run') void run(msg);
});
post({ type: 'ready' });
