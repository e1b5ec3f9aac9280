import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../processors/coordinator.ts';
import { QUEUE } from '../queues/names.ts';
import type { RunSummary } from '../src/main/pipeline.ts';
import { dropPrefix, freshPrefix, startPipeline, testConfig, type TestPipeline, waitFor } from './helpers/pipeline.ts';

const INSTANCES = [
  { id: 'mom-a', bot: 'momentum' },
  { id: 'mom-b', bot: 'momentum', params: { confidence: 0.6 } },
  { id: 'thrower', bot: 'thrower' },
  { id: 'hanger', bot: 'hanger' },
  { id: 'garbage', bot: 'garbage' },
];
const CANDLES = 24;

describe('bots that throw, never return, or return garbage', () => {
  const prefix = freshPrefix('faults');
  let pipeline: TestPipeline;
  let summary: RunSummary;

  beforeAll(async () => {
    pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/ADA_BTC-5m.csv'],
        'replay.lastCandles': CANDLES,
        'bots.dir': 'test/fixtures/pipeline-bots',
        'bots.timeoutMs': 250,
        // Here every failure is to be seen; quarantine has its own test.
        'bots.quarantineAfter': 1000,
        'bots.instances': INSTANCES,
      }),
    );
    summary = await pipeline.replayAndDrain();
  });
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('fail only their own analysis jobs, and every candle is still decided from the rest', async () => {
    expect(summary.decisions.total).toBe(CANDLES);
    const failed = await pipeline.ctx.queues.analysis.getFailed(0, 1000);
    const byBot = (id: string) => failed.filter((j) => j.data.instanceId === id).length;
    expect({ thrower: byBot('thrower'), hanger: byBot('hanger'), garbage: byBot('garbage'), total: failed.length }).toEqual({ thrower: CANDLES, hanger: CANDLES, garbage: CANDLES, total: CANDLES * 3 });
    expect(summary.jobs[QUEUE.analysis]!.failed).toBe(CANDLES * 3);
    expect(summary.jobs[QUEUE.coordinator]!.failed).toBe(0);
    const decisions = (await pipeline.ctx.decisions.all()) as Decision[];
    expect(decisions).toHaveLength(CANDLES);
    // After the first candle (warm-up of 2), the two good bots vote on every candle.
    const voted = decisions.filter((d) => d.votes.length === 2);
    expect(voted.length).toBe(CANDLES - 1);
    expect(decisions.filter((d) => d.action !== 'hold').length).toBeGreaterThan(0);
  });

  it('records why each bad bot abstained, in the decision and in its health', async () => {
    const decisions = (await pipeline.ctx.decisions.all()) as Decision[];
    const why = (id: string) => decisions.map((d) => d.abstentions.find((a) => a.instanceId === id)?.why ?? '');
    expect(why('thrower').every((w) => w.includes('thrower exploded on purpose'))).toBe(true);
    expect(why('hanger').every((w) => /did not answer within 250 ms/.test(w))).toBe(true);
    expect(why('garbage').every((w) => /invalid signal: .*action/.test(w))).toBe(true);
    expect(await pipeline.ctx.health.get('thrower')).toMatchObject({ ok: 0, failed: CANDLES });
    expect(await pipeline.ctx.health.get('hanger')).toMatchObject({ ok: 0, timedOut: CANDLES });
    expect(await pipeline.ctx.health.get('garbage')).toMatchObject({ ok: 0, badOutput: CANDLES });
    expect((await pipeline.ctx.health.get('mom-a')).ok).toBe(CANDLES - 1); // its first candle is warm-up
  });
});

describe('bad candles and bad payloads', () => {
  const prefix = freshPrefix('badinput');
  let pipeline: TestPipeline;
  let summary: RunSummary;

  beforeAll(async () => {
    // A real file with broken rows spliced in: each must be refused with its reason and line.
    const dir = mkdtempSync(join(tmpdir(), 'quorum-bad-'));
    const lines = readFileSync('data/ohlcv/ADA_BTC-5m.csv', 'utf8').trim().split('\n').slice(0, 121);
    const [, o, h, l, c, v] = lines[60]!.split(',');
    const ts = Number(lines[60]!.split(',')[0]);
    lines.splice(61, 0, `${ts},${o},${h},${l},${c},${v}`); // duplicate
    lines.splice(30, 0, `${ts + 1},NaN,1,1,1,1`); // not finite (and misaligned)
    lines.splice(90, 0, 'garbage row');
    lines.splice(100, 0, `${ts + 7 * 300_000 * 100},0.00005,0.00004,0.00006,0.00005,10`); // high below body
    const file = join(dir, 'ADA_BTC-5m.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    pipeline = await startPipeline(testConfig(prefix, { 'replay.files': [file], 'replay.lastCandles': 0 }));
    summary = await pipeline.replayAndDrain();
  });
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('rejects bad candles with their reason, counts them, and replays the rest', async () => {
    expect(summary.candles.stored).toBe(120);
    expect(summary.decisions.total).toBe(120);
    expect(summary.candles.rejected).toMatchObject({ 'not-finite': 1, duplicate: 1, 'malformed-row': 1, 'high-below-body': 1 });
    const log = await pipeline.ctx.stats.rejections(10);
    expect(log.find((r) => r.reason === 'malformed-row')?.where).toMatch(/ADA_BTC-5m\.csv:\d+$/);
  });

  it('fails a bad payload in every queue at once, naming what was wrong, and keeps running', async () => {
    const { queues } = pipeline.ctx;
    const bad = [
      { queue: queues.ticks, data: { schema: 'tick', v: 1, id: 'x', at: 1, symbol: 'ADA/BTC', timeframe: '5m', candle: { ts: 1, open: 'high' }, prevTs: null, seenAt: 1 }, problem: /candle\.open/ },
      { queue: queues.analysis, data: { schema: 'analysis', v: 2 }, problem: /v: / },
      { queue: queues.coordinator, data: { hello: 'world' }, problem: /schema/ },
      { queue: queues.execution, data: { schema: 'execution', v: 1, id: 'x', at: 1, account: 'paper', intent: { clientOrderId: 'bad:id' } }, problem: /intent\.clientOrderId/ },
      { queue: queues.notifications, data: 'not even an object', problem: /invalid notifications payload/ },
    ];
    const before = (await pipeline.ctx.stats.counters())['rejected.payload'] ?? 0;
    const jobs = await Promise.all(bad.map(({ queue, data }) => queue.add('bad', data, { attempts: 5 })));
    for (const [i, job] of jobs.entries()) {
      await waitFor(async () => (await bad[i]!.queue.getJob(job.id!))?.failedReason !== undefined);
      const failed = (await bad[i]!.queue.getJob(job.id!))!;
      expect(failed.failedReason).toMatch(/invalid .* payload/);
      expect(failed.failedReason).toMatch(bad[i]!.problem);
      expect(failed.attemptsMade).toBe(1);
    }
    expect((await pipeline.ctx.stats.counters())['rejected.payload']).toBe(before + bad.length);
    // The pipeline still works afterwards.
    expect(await pipeline.ctx.redis.ping()).toBe('PONG');
  });

  it('refuses a bad payload at the producer too, before it reaches Redis', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await expect(pipeline.ctx.queues.addTick({ symbol: 'nope' } as any)).rejects.toThrow(/invalid ticks payload: .*symbol/);
  });
});
