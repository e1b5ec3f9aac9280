/**
 * Entry of a worker thread that runs bot code for BotRunner (runner.ts). Bots are imported on
 * first use, once per thread. One call runs at a time: `analyze` is synchronous, so a message
 * is handled to the end before the next one starts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { BotDefinition } from '../core/bot.ts';
import type { CandleWindow } from '../core/candle.ts';
import { analyzeWith, checkParams, messageOf, trainWith } from '../core/botCall.ts';
import type { Signal } from '../core/signal.ts';

export interface ThreadData {
  /** Bot id → absolute file. */
  bots: Record<string, string>;
}

/** A window in shared memory: ts, open, high, low, close, volume, each `stride` long, back to back; the window is [start, start + length). */
export interface PackedWindow {
  columns: Float64Array;
  stride: number;
  start: number;
  length: number;
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
  window: PackedWindow;
  /** Say 'started' once the bot is loaded (the runner then switches from the load budget to the run budget). */
  announce: boolean;
  /** Other markets' windows, packed the same way. */
  others: Array<{ symbol: string } & PackedWindow>;
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
  if (msg.announce) post({ type: 'started', callId });
  const params = checkParams(bot, msg.params);
  const candles = unpack(msg.window);
  const call = { symbol: msg.symbol, timeframe: msg.timeframe, params: msg.params, candles };
  const result = !params.ok
    ? params
    : msg.mode === 'train'
      ? trainWith(bot, call, params.value)
      : analyzeWith(bot, { symbol: call.symbol, timeframe: call.timeframe, candles, params: params.value, others: Object.fromEntries(msg.others.map((o) => [o.symbol, unpack(o)])), inventory: msg.inventory, model: msg.model ?? undefined });
  if (!result.ok) post(result.kind === 'failed' ? { type: 'result', callId, ok: false, kind: 'failed', message: result.message } : { type: 'result', callId, ok: false, kind: 'output', problems: result.problems });
  else if (msg.mode === 'train') post({ type: 'result', callId, ok: true, model: result.value });
  else post({ type: 'result', callId, ok: true, signal: result.value as Signal });
}

/** The bot's own copy of its window: the shared one is read by every bot of the candle and must not be written to. */
function unpack({ columns, stride, start, length }: PackedWindow): CandleWindow {
  const column = (k: number) => columns.slice(k * stride + start, k * stride + start + length);
  return { length, ts: column(0), open: column(1), high: column(2), low: column(3), close: column(4), volume: column(5) };
}

port.on('message', (msg: RunMessage) => {
  if (msg?.type === 'run') void run(msg);
});
post({ type: 'ready' });
