import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { Decision } from '../processors/coordinator.ts';
import { stamp } from '../src/contracts/envelope.ts';
import type { TickMessage } from '../src/contracts/messages.ts';
import type { RunSummary } from '../src/main/pipeline.ts';
import { instanceReports } from '../src/main/botControl.ts';
import { QUEUE } from '../queues/names.ts';
import { ROOT, dropPrefix, freshPrefix, startPipeline, testConfig, type TestPipeline, waitFor } from './helpers/pipeline.ts';

// The bad-input corpus (test/corpus/): input that is wrong in every way we could think of, each
// refused with a clear reason, counted, losing nothing, while the rest keeps running. What other
// tests already prove is listed in README.md ("Bad input, tried") instead of being repeated here.

const CORPUS = join(ROOT, 'test/corpus');
const TF = 300_000;

describe('malformed candles, replayed from the corpus file and pushed as ticks', () => {
  const expected = JSON.parse(readFileSync(join(CORPUS, 'candles/expected.json'), 'utf8')) as {
    accepted: number;
    gap: number[];
    rejected: Array<{ line: number; reason: string; what: string }>;
  };
  const prefix = freshPrefix('badcandles');
  let pipeline: TestPipeline;
  let summary: RunSummary;

  beforeAll(async () => {
    pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['test/corpus/candles/ADA_BTC-5m.csv'],
        'replay.lastCandles': 0,
        'bots.dir': 'test/fixtures/pipeline-bots',
        'bots.instances': [{ id: 'steady', bot: 'momentum' }],
      }),
    );
    summary = await pipeline.replayAndDrain();
  });
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('rejects every bad row with its reason, file and line, counts each reason, and decides every good candle', async () => {
    const byReason: Record<string, number> = {};
    for (const r of expected.rejected) byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
    expect(summary.candles.rejected).toEqual(byReason);
    expect(summary.candles.rejectedTotal).toBe(expected.rejected.length);
    expect(summary.candles.stored).toBe(expected.accepted);
    // Nothing lost: one decision per good candle, none for a bad one, none invented in the gap.
    const decisions = ((await pipeline.ctx.decisions.all()) as Decision[]).map((d) => d.candleTs).sort((a, b) => a - b);
    const good = readFileSync(join(CORPUS, 'candles/ADA_BTC-5m.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .filter((_, i) => !expected.rejected.some((r) => r.line === i + 2))
      .map((row) => Number(row.split(',')[0]));
    expect(decisions).toEqual(good);
    for (const ts of expected.gap) expect(decisions).not.toContain(ts);
    // The candle after the gap is decided on a window that simply skips it.
    expect(decisions).toContain(expected.gap.at(-1)! + TF);
    const log = await pipeline.ctx.stats.rejections(100);
    for (const r of expected.rejected) {
      const entry = log.find((e) => e.where?.endsWith(`ADA_BTC-5m.csv:${r.line}`));
      expect(entry, `${r.what} (line ${r.line})`).toMatchObject({ what: 'candle', reason: r.reason });
      expect(entry!.detail, r.what).not.toBe('');
    }
  });

  it('rejects bad candles that arrive as ticks, past the feed, with the reason, and keeps the series intact', async () => {
    const { ctx } = pipeline;
    const last = (await ctx.candles.latest('ADA/BTC', '5m'))!;
    const next = last.ts + TF;
    const tick = (candle: Partial<TickMessage['candle']>, prevTs: number | null = last.ts): TickMessage => ({
      ...stamp('tick', 1, Date.now()),
      symbol: 'ADA/BTC',
      timeframe: '5m',
      candle: { ts: next, open: 0.00005, high: 0.00006, low: 0.00004, close: 0.00005, volume: 10, ...candle },
      prevTs,
      seenAt: Date.now(),
    });
    const bad: Array<[what: string, message: TickMessage, reason: RegExp]> = [
      ['high below low', tick({ high: 0.00003, low: 0.00007 }), /high-below-body/],
      ['a negative price', tick({ low: -1 }), /non-positive-price/],
      ['an absurd magnitude', tick({ open: 1e300, high: 1e300, low: 1e300, close: 1e300 }), /absurd-magnitude/],
      ['a timestamp off the grid', tick({ ts: next + 7 }), /misaligned-timestamp/],
      // (A candle of the gap: never stored, so not a duplicate, but older than the newest.)
      ['out of order: older than the newest stored candle', tick({ ts: expected.gap[0]! }, null), /older than the newest stored candle/],
    ];
    const before = await ctx.stats.counters();
    const jobs = await Promise.all(bad.map(([what, data]) => ctx.queues.ticks.add(`bad ${what}`, data, { attempts: 5 })));
    for (const [i, job] of jobs.entries()) {
      await waitFor(async () => (await ctx.queues.ticks.getJob(job.id!))?.finishedOn !== undefined);
      const failed = (await ctx.queues.ticks.getJob(job.id!))!;
      expect(failed.failedReason, bad[i]![0]).toMatch(/^rejected candle ADA\/BTC 5m /);
      expect(failed.failedReason, bad[i]![0]).toMatch(bad[i]![2]);
      expect(failed.attemptsMade).toBe(1);
    }
    const after = await ctx.stats.counters();
    expect((after['rejected.candle'] ?? 0) - (before['rejected.candle'] ?? 0)).toBe(bad.length);
    // NaN cannot even travel: JSON makes it null, and the payload check names the field.
    const nan = await ctx.queues.ticks.add('bad NaN', JSON.parse(JSON.stringify(tick({ close: Number.NaN }))), { attempts: 5 });
    await waitFor(async () => (await ctx.queues.ticks.getJob(nan.id!))?.failedReason !== undefined);
    expect((await ctx.queues.ticks.getJob(nan.id!))!.failedReason).toMatch(/^invalid ticks payload: candle\.close: /);
    // A duplicate of a decided candle is a no-op: no second decision.
    const decisionsBefore = (await ctx.decisions.all()).length;
    const dup = await ctx.queues.ticks.add('dup', { ...tick({}, null), candle: { ...last } }, { attempts: 1 });
    await waitFor(async () => (await ctx.queues.ticks.getJob(dup.id!))?.finishedOn !== undefined);
    expect((await ctx.queues.ticks.getJob(dup.id!))!.returnvalue).toMatchObject({ outcome: 'duplicate', analyses: 0 });
    expect((await ctx.decisions.all()).length).toBe(decisionsBefore);
    // And the series goes on: the next good candle is stored and decided.
    await ctx.queues.addTick(tick({}));
    await waitFor(async () => (await ctx.decisions.get('ADA/BTC', '5m', next)) !== undefined && (await ctx.decisions.get('ADA/BTC', '5m', next)) !== null);
    expect((await ctx.candles.latest('ADA/BTC', '5m'))!.ts).toBe(next);
  });
});

describe('malformed payloads pushed straight into every queue (test/corpus/payloads.json)', () => {
  const corpus = JSON.parse(readFileSync(join(CORPUS, 'payloads.json'), 'utf8')) as {
    payloads: Array<{ queue: string; name: string; what: string; data: unknown; problem: string }>;
  };
  const prefix = freshPrefix('badpayloads');
  let pipeline: TestPipeline;
  afterAll(async () => {
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('fails each at once with "invalid <queue> payload" naming what was wrong, counts it, and the pipeline then decides every candle', async () => {
    pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/ADA_BTC-5m.csv'],
        'replay.lastCandles': 20,
        'bots.dir': 'test/fixtures/pipeline-bots',
        'bots.instances': [{ id: 'steady', bot: 'momentum' }, { id: 'second', bot: 'momentum', params: { confidence: 0.6 } }],
      }),
    );
    const { ctx } = pipeline;
    const queues: Record<string, Queue> = {
      ticks: ctx.queues.ticks,
      analysis: ctx.queues.analysis,
      coordinator: ctx.queues.coordinator,
      execution: ctx.queues.execution,
      notifications: ctx.queues.notifications,
      optimize: ctx.queues.optimize,
    };
    expect(new Set(corpus.payloads.map((p) => p.queue))).toEqual(new Set(Object.keys(queues)));
    const before = (await ctx.stats.counters())['rejected.payload'] ?? 0;
    const jobs = await Promise.all(corpus.payloads.map((p) => queues[p.queue]!.add(p.name, p.data, { attempts: 5 })));
    for (const [i, job] of jobs.entries()) {
      const p = corpus.payloads[i]!;
      const queue = queues[p.queue]!;
      await waitFor(async () => (await queue.getJob(job.id!))?.failedReason !== undefined);
      const failed = (await queue.getJob(job.id!))!;
      expect(failed.failedReason, `${p.queue}: ${p.what}`).toMatch(new RegExp(`^invalid ${queue.name} payload: `));
      expect(failed.failedReason, `${p.queue}: ${p.what}`).toMatch(new RegExp(p.problem));
      expect(failed.attemptsMade, `${p.queue}: ${p.what} is not retried`).toBe(1);
    }
    expect((await ctx.stats.counters())['rejected.payload']).toBe(before + corpus.payloads.length);
    const log = await ctx.stats.rejections(100);
    for (const job of jobs) expect(log.some((r) => r.what === 'payload' && r.where === `${job.queueName} job ${job.id}`), `rejection of ${job.queueName} job ${job.id}`).toBe(true);
    expect(({}) as Record<string, unknown>).not.toHaveProperty('polluted');

    // The workers are all still there and the pipeline decides a whole replay.
    const summary = await pipeline.replayAndDrain();
    expect(summary.decisions.total).toBe(20);
    const decisions = (await ctx.decisions.all()) as Decision[];
    expect(decisions.filter((d) => d.votes.length === 2).length).toBe(19); // the first candle is warm-up
    expect((await ctx.queues.analysis.getFailed()).filter((j) => j.name !== 'bad').length).toBe(0);
  });
});

describe('invalid config files (test/corpus/config)', () => {
  const expected = JSON.parse(readFileSync(join(CORPUS, 'config/expected.json'), 'utf8')) as Record<string, string>;
  const files = readdirSync(join(CORPUS, 'config')).filter((f) => f !== 'expected.json');

  it('has an expectation for every file of the corpus', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(files)('`quorum config check` refuses %s: exit 2, naming the file and the problem, never echoing a secret', (name) => {
    const path = join(CORPUS, 'config', name);
    const run = spawnSync(process.execPath, ['bin/quorum.js', '--config', path, 'config', 'check'], { cwd: ROOT, env: { ...process.env, QUORUM_LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(path);
    expect(run.stderr).toMatch(new RegExp(expected[name]!));
    expect(run.stdout + run.stderr).not.toMatch(/corpus-fake-[a-z-]*secret|corpus-fake-token/);
  });
});
