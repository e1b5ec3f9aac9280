import { join } from 'node:path';
import { compileModule, projectRoot } from '../infra/compile.ts';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CandleWindow } from '../core/candle.ts';
import type { Signal } from '../core/signal.ts';
import type { PackedWindow, RunMessage, ThreadData, ThreadMessage } from './botThread.ts';
import { discoverBots, type DiscoveryReport } from './discover.ts';
import { BotCrashedError, BotFailedError, BotOutputError, BotTimeoutError, type BotRunError, type CrashCause } from './errors.ts';

export interface BotRunnerOptions {
  botsDir: string;
  threads: number;
  /** Budget of one `analyze` call, from the moment the bot is loaded in its thread. */
  timeoutMs: number;
  /** Old-generation heap limit of each thread. */
  memoryMb: number;
  /** An existing discovery of botsDir, to skip discovering again. */
  report?: DiscoveryReport;
  /** Budget for a thread to import a bot the first time; default max(10 s, 10 × timeoutMs). */
  loadTimeoutMs?: number;
  /** Budget of one `train` call of a learning bot; default 30 × timeoutMs. */
  trainTimeoutMs?: number;
}

export interface RunRequest {
  instanceId?: string;
  botId: string;
  symbol: string;
  timeframe: string;
  params: Record<string, unknown>;
  candles: CandleWindow;
  /** Windows of the other markets the bot reads (pairs). */
  others?: Record<string, CandleWindow>;
  /** Holding of this market as a fraction of equity. */
  inventory?: number;
  /** The bot's trained model (JSON), for learning bots. */
  model?: unknown;
}

/** A learning bot's training call: the candles it may learn from, nothing after them. */
export type TrainRequest = Pick<RunRequest, 'instanceId' | 'botId' | 'symbol' | 'timeframe' | 'params' | 'candles'>;

interface Call {
  id: number;
  kind: 'analyze' | 'train';
  req: RunRequest;
  resolve: (value: never) => void;
  reject: (error: BotRunError) => void;
  timer?: NodeJS.Timeout;
  /** Until the thread reports the bot loaded, the load budget applies. */
  phase: 'load' | 'analyze';
}

interface Slot {
  worker: Worker;
  ready: boolean;
  retired: boolean;
  /** Set by the worker's 'error' event, read when it exits. */
  died?: Error;
  inFlight: Map<number, Call>;
  /** Bots this thread has loaded: their calls start at once, and the thread need not say so. */
  loaded: Set<string>;
}

/** Calls sent to a thread at once; a thread stopped for one call then takes no bystanders with it. */
const PER_THREAD = 1;
/** Threads dying before they are ready this many times in a row means the entry itself is broken. */
const MAX_START_FAILURES = 3;

const THREAD_ENTRY = join(projectRoot(), 'src', 'registry', 'botThread.ts');

/**
 * Runs bot `analyze` calls in a pool of worker threads so that a bot that throws, hangs,
 * returns garbage or exhausts its heap fails only its own call. Calls wait in one queue and go
 * to the next idle thread; a thread that is stopped or dies is replaced.
 */
export class BotRunner {
  private readonly opts: BotRunnerOptions;
  private readonly loadTimeoutMs: number;
  private readonly trainTimeoutMs: number;
  private bots: Record<string, string> = {};
  private execArgv: string[] = [];
  /** The compiled thread entry. */
  private entry: URL = pathToFileURL(THREAD_ENTRY);
  private slots: Slot[] = [];
  private queue: Call[] = [];
  private nextId = 1;
  private nextSlot = 0;
  private startFailures = 0;
  private broken: Error | undefined;
  private closed = false;
  private starting: Promise<void> | undefined;

  constructor(opts: BotRunnerOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError(`threads must be a positive integer, got ${opts.threads}`);
    if (!(opts.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${opts.timeoutMs}`);
    if (!(opts.memoryMb > 0)) throw new RangeError(`memoryMb must be positive, got ${opts.memoryMb}`);
    this.opts = opts;
    this.loadTimeoutMs = opts.loadTimeoutMs ?? Math.max(10_000, opts.timeoutMs * 10);
    this.trainTimeoutMs = opts.trainTimeoutMs ?? opts.timeoutMs * 30;
  }

  /** Discovers the bots (unless given a report) and starts the threads; resolves when all are ready. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const report = this.opts.report ?? (await discoverBots(this.opts.botsDir));
    this.execArgv = withoutTsx(process.execArgv);
    // Threads run plain JavaScript (see src/infra/compile.ts): the bots as discovery compiled them.
    this.bots = Object.fromEntries(report.loaded.map((b) => [b.id, b.compiled]));
    this.entry = pathToFileURL(await compileThreadEntry());
    const ready = Array.from({ length: this.opts.threads }, () => this.spawn());
    await Promise.all(ready);
  }

  /** Runs one analysis; rejects with a BotRunError subclass when the bot or its thread fails. */
  run(req: RunRequest): Promise<Signal> {
    return this.call<Signal>('analyze', req);
  }

  /** Trains a learning bot's model on the given candles; resolves with the model as JSON. */
  train(req: TrainRequest): Promise<unknown> {
    return this.call<unknown>('train', req);
  }

  private async call<T>(kind: Call['kind'], req: RunRequest): Promise<T> {
    if (this.closed) throw new BotCrashedError(req.botId, req.instanceId, 'closed', 'the runner is closed');
    await this.start();
    if (this.closed) throw new BotCrashedError(req.botId, req.instanceId, 'closed', 'the runner is closed');
    if (this.broken) throw new BotCrashedError(req.botId, req.instanceId, 'exit', this.broken.message);
    if (!(req.botId in this.bots)) {
      throw new BotFailedError(req.botId, req.instanceId, `is not a discovered bot (known: ${Object.keys(this.bots).join(', ') || 'none'})`);
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, kind, req, resolve: resolve as (value: never) => void, reject, phase: 'load' });
      this.pump();
    });
  }

  /** Fails every waiting call (retryable) and stops the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const slots = this.slots;
    this.slots = [];
    for (const call of this.queue.splice(0)) {
      call.reject(new BotCrashedError(call.req.botId, call.req.instanceId, 'closed', 'the runner was closed'));
    }
    for (const slot of slots) this.retire(slot, 'closed', 'the runner was closed');
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Promise<void> {
    const data: ThreadData = { bots: this.bots };
    const worker = new Worker(this.entry, {
      workerData: data,
      execArgv: this.execArgv,
      // Node spells it maxOldGenerationSizeMb; an unknown key would be silently ignored.
      resourceLimits: { maxOldGenerationSizeMb: this.opts.memoryMb, maxYoungGenerationSizeMb: 4 },
    });
    const slot: Slot = { worker, ready: false, retired: false, inFlight: new Map(), loaded: new Set() };
    this.slots.push(slot);
    return new Promise<void>((resolveReady, rejectReady) => {
      worker.on('message', (msg: ThreadMessage) => {
        if (msg.type === 'ready') {
          slot.ready = true;
          this.startFailures = 0;
          resolveReady();
          this.pump();
        } else {
          this.onMessage(slot, msg);
        }
      });
      worker.on('error', (error) => {
        slot.died = error;
      });
      worker.on('exit', (code) => {
        if (!slot.ready) {
          const why = slot.died?.message ?? `exit code ${code}`;
          rejectReady(new Error(`bot thread failed to start: ${why}`));
        }
        if (slot.retired) return;
        const oom = (slot.died as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
        const detail = oom
          ? `its thread ran out of memory (limit ${this.opts.memoryMb} MB) and was replaced`
          : `its thread exited (${slot.died ? slot.died.message : `code ${code}`}) and was replaced`;
        this.retire(slot, oom ? 'memory' : 'exit', detail);
        if (!slot.ready && ++this.startFailures >= MAX_START_FAILURES) {
          this.broken = new Error(`bot threads keep dying before they start: ${slot.died?.message ?? `exit code ${code}`}`);
          for (const call of this.queue.splice(0)) {
            call.reject(new BotCrashedError(call.req.botId, call.req.instanceId, 'exit', this.broken.message));
          }
          return;
        }
        this.replace();
      });
    });
  }

  private onMessage(slot: Slot, msg: Exclude<ThreadMessage, { type: 'ready' }>): void {
    const call = slot.inFlight.get(msg.callId);
    if (!call || slot.retired) return;
    if (msg.type === 'started') {
      slot.loaded.add(call.req.botId);
      call.phase = 'analyze';
      this.arm(slot, call, call.kind === 'train' ? this.trainTimeoutMs : this.opts.timeoutMs);
      return;
    }
    clearTimeout(call.timer);
    slot.inFlight.delete(call.id);
    const { botId, instanceId } = call.req;
    if (msg.ok) call.resolve(('model' in msg ? msg.model : msg.signal) as never);
    else if (msg.kind === 'output') call.reject(new BotOutputError(botId, instanceId, msg.problems));
    else call.reject(new BotFailedError(botId, instanceId, msg.message));
    this.pump();
  }

  private pump(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      const slot = this.pickSlot();
      if (!slot) return;
      this.dispatch(slot, this.queue.shift()!);
    }
  }

  /** The next ready thread with room, round robin from the last one used. */
  private pickSlot(): Slot | undefined {
    const n = this.slots.length;
    for (let k = 0; k < n; k++) {
      const slot = this.slots[(this.nextSlot + k) % n]!;
      if (slot.ready && !slot.retired && slot.inFlight.size < PER_THREAD) {
        this.nextSlot = (this.nextSlot + k + 1) % n;
        return slot;
      }
    }
    return undefined;
  }

  private dispatch(slot: Slot, call: Call): void {
    // Windows go over in shared memory, packed once per window (a candle's instances share theirs); the thread copies its part.
    const main = packShared(call.req.candles);
    const others = Object.entries(call.req.others ?? {}).map(([symbol, w]) => ({ symbol, ...packShared(w) }));
    const msg: RunMessage = {
      type: 'run',
      mode: call.kind,
      callId: call.id,
      botId: call.req.botId,
      symbol: call.req.symbol,
      timeframe: call.req.timeframe,
      params: call.req.params,
      window: main,
      announce: !slot.loaded.has(call.req.botId),
      others,
      inventory: call.req.inventory ?? 0,
      model: call.req.model,
    };
    slot.inFlight.set(call.id, call);
    if (slot.loaded.has(call.req.botId)) {
      // Loaded already, and the thread runs one call at a time: the run budget starts now (one message fewer a call).
      call.phase = 'analyze';
      this.arm(slot, call, call.kind === 'train' ? this.trainTimeoutMs : this.opts.timeoutMs);
    } else {
      // Until the thread says the bot is loaded, the (longer) load budget applies.
      this.arm(slot, call, this.loadTimeoutMs);
    }
    try {
      slot.worker.postMessage(msg);
    } catch (error) {
      // e.g. params that cannot be cloned: the caller's mistake, not the thread's.
      clearTimeout(call.timer);
      slot.inFlight.delete(call.id);
      call.reject(new BotFailedError(call.req.botId, call.req.instanceId, `could not be sent to its thread: ${(error as Error).message}`));
    }
  }

  private arm(slot: Slot, call: Call, ms: number): void {
    clearTimeout(call.timer);
    call.timer = setTimeout(() => this.onTimeout(slot, call, ms), ms);
  }

  private onTimeout(slot: Slot, call: Call, ms: number): void {
    if (slot.retired || !slot.inFlight.has(call.id)) return;
    slot.inFlight.delete(call.id);
    call.reject(new BotTimeoutError(call.req.botId, call.req.instanceId, ms, call.phase));
    // Terminating is the only way to stop a synchronous loop; anything else on the thread goes too.
    this.retire(slot, 'sibling-timeout', `its thread was stopped because bot "${call.req.botId}" timed out`);
    void slot.worker.terminate();
    this.replace();
  }

  /** Takes a slot out of service and fails what it was running. */
  private retire(slot: Slot, crash: CrashCause, detail: string): void {
    if (slot.retired) return;
    slot.retired = true;
    this.slots = this.slots.filter((s) => s !== slot);
    for (const call of slot.inFlight.values()) {
      clearTimeout(call.timer);
      call.reject(new BotCrashedError(call.req.botId, call.req.instanceId, crash, detail));
    }
    slot.inFlight.clear();
  }

  private replace(): void {
    if (this.closed || this.broken) return;
    // A replacement that fails to start is counted in its own exit handler.
    this.spawn().catch(() => undefined);
  }
}

/** Packed windows by the buffer of their `ts` column: the same window (or a tail of it) is packed once. */
const packed = new WeakMap<ArrayBufferLike, { buffers: ArrayBufferLike[]; columns: Float64Array }>();

/**
 * A window as shared memory: ts, open, high, low, close, volume back to back, each `stride` long,
 * the window at `start`. Windows are views of whole series read at once (RecentWindows): the
 * whole series is packed, once, and every tail of it is sent as (start, length). Windows given
 * to the runner are never written to afterwards.
 */
function packShared(w: CandleWindow): PackedWindow {
  const columns = [w.ts, w.open, w.high, w.low, w.close, w.volume];
  const base = w.ts.buffer;
  const stride = base.byteLength / Float64Array.BYTES_PER_ELEMENT;
  const start = w.ts.byteOffset / Float64Array.BYTES_PER_ELEMENT;
  const viewsOfOneSeries = columns.every((c) => c.byteOffset === w.ts.byteOffset && c.buffer.byteLength === base.byteLength) && start + w.length <= stride;
  if (!viewsOfOneSeries) return { columns: copyToShared(columns.map((c) => c.subarray(0, w.length)), w.length), stride: w.length, start: 0, length: w.length };
  let shared = packed.get(base);
  // The same six series, not another window that happens to share its ts column.
  if (!shared || shared.buffers.some((b, k) => b !== columns[k]!.buffer)) {
    shared = { buffers: columns.map((c) => c.buffer), columns: copyToShared(columns.map((c) => new Float64Array(c.buffer, 0, stride)), stride) };
    packed.set(base, shared);
  }
  return { columns: shared.columns, stride, start, length: w.length };
}

function copyToShared(columns: Float64Array[], stride: number): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(6 * stride * Float64Array.BYTES_PER_ELEMENT));
  columns.forEach((c, k) => out.set(c, k * stride));
  return out;
}

/** Compiles the bot-thread entry (ahead of time too: `quorum compile`). */
export function compileThreadEntry(): Promise<string> {
  return compileModule('thread', THREAD_ENTRY);
}

/** The parent's flags, minus a TypeScript loader: threads run compiled JavaScript and need none. */
function withoutTsx(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if ((a === '--import' || a === '--loader' || a === '--experimental-loader') && /tsx/.test(execArgv[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader|experimental-loader)=.*tsx/.test(a)) continue;
    out.push(a);
  }
  return out;
}
