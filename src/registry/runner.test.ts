import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowFromCandles, type CandleWindow } from '../core/candle.ts';
import { BotCrashedError, BotFailedError, BotOutputError, BotTimeoutError, type BotRunError } from './errors.ts';
import { BotRunner, type RunRequest } from './runner.ts';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BOTS = join(root, 'test/fixtures/runner-bots');
const TIMEOUT_MS = 300;

function window(n: number): CandleWindow {
  return windowFromCandles(
    Array.from({ length: n }, (_, i) => ({ ts: i * 60_000, open: 1 + i, high: 2 + i, low: 0.5 + i, close: 1 + i, volume: 10 * i })),
  );
}

const candles = window(50);
const call = (botId: string, extra: Partial<RunRequest> = {}): RunRequest => ({ botId, symbol: 'ETH/BTC', timeframe: '1m', params: {}, candles, ...extra });
const GOOD = { action: 'buy', confidence: 0.5, reason: 'ETH/BTC n=50 last=50 vol=490 tag=none' };

/** Settles to the error, or fails the test if the call succeeded. */
async function failure(p: Promise<unknown>): Promise<{ error: BotRunError; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (error) {
    return { error: error as BotRunError, ms: performance.now() - t0 };
  }
  throw new Error('expected the call to fail');
}

describe('BotRunner', () => {
  const runner = new BotRunner({ botsDir: BOTS, threads: 2, timeoutMs: TIMEOUT_MS, memoryMb: 32 });
  beforeAll(() => runner.start(), 30_000);
  afterAll(() => runner.close());

  it('runs a bot in a thread with the window and its params, defaults applied', async () => {
    await expect(runner.run(call('good'))).resolves.toEqual(GOOD);
    await expect(runner.run(call('good', { params: { tag: 'x' } }))).resolves.toMatchObject({ reason: expect.stringContaining('tag=x') });
    // The caller's arrays are copied, not transferred away.
    expect(candles.close.length).toBe(50);
    expect(candles.close[49]).toBe(50);
  });

  it('gives each bot its own copy of the window: one that writes over it changes nothing for the next', async () => {
    await expect(runner.run(call('scribbler'))).resolves.toMatchObject({ reason: 'scribbled' });
    await expect(runner.run(call('good'))).resolves.toEqual(GOOD);
    expect(candles.close[49]).toBe(50);
  });

  it('sends a tail of a longer window as exactly that tail', async () => {
    const long = window(80);
    const tail = { length: 50, ...Object.fromEntries((['ts', 'open', 'high', 'low', 'close', 'volume'] as const).map((k) => [k, long[k].subarray(30)])) } as CandleWindow;
    await expect(runner.run(call('good', { candles: tail }))).resolves.toEqual({ ...GOOD, reason: 'ETH/BTC n=50 last=80 vol=790 tag=none' });
    await expect(runner.run(call('good', { candles: long }))).resolves.toMatchObject({ reason: 'ETH/BTC n=80 last=80 vol=790 tag=none' });
  });

  it('survives windows shorter than the warmup, even empty ones', async () => {
    await expect(runner.run(call('good', { candles: window(0) }))).resolves.toEqual({ action: 'hold', confidence: 0, reason: 'n=0' });
    await expect(runner.run(call('good', { candles: window(1) }))).resolves.toMatchObject({ action: 'hold' });
  });

  it('rejects a bot that throws with BotFailedError carrying its message', async () => {
    const good = Array.from({ length: 4 }, () => runner.run(call('good')));
    const { error, ms } = await failure(runner.run(call('throws')));
    expect(error).toBeInstanceOf(BotFailedError);
    expect(error.message).toContain('division by zero in my strategy');
    expect(error.retryable).toBe(false);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2000);
    await expect(Promise.all(good)).resolves.toEqual([GOOD, GOOD, GOOD, GOOD]);
    await expect(runner.run(call('good'))).resolves.toEqual(GOOD);
  });

  it('rejects garbage output with BotOutputError naming each wrong field', async () => {
    const good = Array.from({ length: 4 }, () => runner.run(call('good')));
    const { error } = await failure(runner.run(call('garbage')));
    expect(error).toBeInstanceOf(BotOutputError);
    expect((error as BotOutputError).problems).toEqual([
      'action: Invalid option: expected one of "buy"|"sell"|"hold"',
      'confidence: Invalid input: expected number, received NaN',
    ]);
    expect(error.retryable).toBe(false);
    await expect(Promise.all(good)).resolves.toEqual([GOOD, GOOD, GOOD, GOOD]);
    await expect(runner.run(call('good'))).resolves.toEqual(GOOD);
  });

  it('stops a bot that never returns with BotTimeoutError after about timeoutMs', async () => {
    const good = Array.from({ length: 4 }, () => runner.run(call('good')));
    const { error, ms } = await failure(runner.run(call('hangs', { instanceId: 'spin-1' })));
    expect(error).toBeInstanceOf(BotTimeoutError);
    expect(error).toMatchObject({ botId: 'hangs', instanceId: 'spin-1', timeoutMs: TIMEOUT_MS, retryable: false });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2000);
    await expect(Promise.all(good)).resolves.toEqual([GOOD, GOOD, GOOD, GOOD]);
    await expect(runner.run(call('good'))).resolves.toEqual(GOOD);
  });

  it('stops a bot already loaded in its thread that hangs on a later call, after about timeoutMs', async () => {
    // Loaded on both threads first: its next call is sent with the run budget armed at once.
    await Promise.all(Array.from({ length: 4 }, () => runner.run(call('good'))));
    const { error, ms } = await failure(runner.run(call('good', { instanceId: 'spin-2', params: { hang: true } })));
    expect(error).toBeInstanceOf(BotTimeoutError);
    expect(error).toMatchObject({ botId: 'good', instanceId: 'spin-2', timeoutMs: TIMEOUT_MS, phase: 'analyze' });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2000);
    await expect(runner.run(call('good'))).resolves.toEqual(GOOD);
  });

  it('stops a bot that exhausts its heap with a retryable BotCrashedError about memory', async () => {
    // A time budget the heap limit always beats, even on a loaded machine: this is about memory.
    const patient = new BotRunner({ botsDir: BOTS, threads: 2, timeoutMs: 20_000, memoryMb: 32 });
    await patient.start();
    try {
      const good = Array.from({ length: 4 }, () => patient.run(call('good')));
      const { error, ms } = await failure(patient.run(call('memory-hog')));
      expect(error).toBeInstanceOf(BotCrashedError);
      expect(error).toMatchObject({ crash: 'memory', retryable: true });
      expect(error.message).toContain('ran out of memory (limit 32 MB)');
      expect(ms).toBeLessThan(20_000);
      await expect(Promise.all(good)).resolves.toEqual([GOOD, GOOD, GOOD, GOOD]);
      await expect(patient.run(call('good'))).resolves.toEqual(GOOD);
    } finally {
      await patient.close();
    }
  }, 60_000);

  it('runs calls queued behind hung threads on their replacements', async () => {
    // Both threads hang at once; the good calls wait in the queue, not on a doomed thread.
    const hung = [failure(runner.run(call('hangs'))), failure(runner.run(call('hangs')))];
    const good = Array.from({ length: 6 }, () => runner.run(call('good')));
    for (const h of await Promise.all(hung)) expect(h.error).toBeInstanceOf(BotTimeoutError);
    await expect(Promise.all(good)).resolves.toEqual(Array(6).fill(GOOD));
  });

  it('rejects an unknown bot and params the bot refuses with BotFailedError', async () => {
    const unknown = await failure(runner.run(call('nope')));
    expect(unknown.error).toBeInstanceOf(BotFailedError);
    expect(unknown.error.message).toContain('is not a discovered bot (known: flaky, garbage, good, hangs, memory-hog, scribbler, swapper, throws)');
    const badParams = await failure(runner.run(call('good', { params: { tag: 5 } })));
    expect(badParams.error).toBeInstanceOf(BotFailedError);
    expect(badParams.error.message).toContain('rejected its params: params.tag: Invalid input: expected string, received number');
  });

  it('spreads concurrent calls over the threads and keeps answers matched to calls', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => runner.run(call('good', { params: { tag: String(i) }, candles: window(10 + i) }))),
    );
    results.forEach((signal, i) => expect(signal.reason).toBe(`ETH/BTC n=${10 + i} last=${10 + i} vol=${10 * (9 + i)} tag=${i}`));
  });
});

describe('BotRunner.close', () => {
  it('fails what is running or queued with a retryable BotCrashedError and refuses new calls', async () => {
    const runner = new BotRunner({ botsDir: BOTS, threads: 1, timeoutMs: 5_000, memoryMb: 32 });
    await runner.start();
    const running = failure(runner.run(call('hangs')));
    const queued = failure(runner.run(call('good')));
    await new Promise((r) => setTimeout(r, 100));
    await runner.close();
    for (const { error } of await Promise.all([running, queued])) {
      expect(error).toBeInstanceOf(BotCrashedError);
      expect(error).toMatchObject({ crash: 'closed', retryable: true });
    }
    expect((await failure(runner.run(call('good')))).error).toBeInstanceOf(BotCrashedError);
  }, 30_000);
});
