import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Decision } from '../processors/coordinator.ts';
import { QUEUE } from '../queues/names.ts';
import { ROOT, STARTER_INSTANCES, dropPrefix, freshPrefix, redisUrl, startPipeline, testConfig, waitFor } from './helpers/pipeline.ts';

const OVERRIDES = { 'replay.files': ['data/ohlcv/ZEC_BTC-5m.csv', 'data/ohlcv/DASH_BTC-5m.csv'], 'replay.lastCandles': 150, 'bots.instances': STARTER_INSTANCES };

/** What a decision is, without when or where it was made. */
function essence(d: Decision) {
  return { market: d.symbol, ts: d.candleTs, action: d.action, votes: d.votes.map((v) => [v.instanceId, v.action, v.confidence]), abstained: d.abstentions.map((a) => a.instanceId) };
}

function byCandle(a: Decision, b: Decision) {
  return a.symbol.localeCompare(b.symbol) || a.candleTs - b.candleTs;
}

/** `quorum worker --queues analysis` as its own OS process, on the test's Redis and prefix. */
function spawnAnalysisWorker(prefix: string): ChildProcess {
  return spawn(process.execPath, ['bin/quorum.js', 'worker', '--queues', 'analysis'], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl(), QUORUM_REDIS_PREFIX: prefix, QUORUM_LOG_LEVEL: 'warn', QUORUM_LOG_FORMAT: 'json', QUORUM__BOTS__INSTANCES: JSON.stringify(STARTER_INSTANCES) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

describe('horizontal scaling', () => {
  const prefixes: string[] = [];
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    for (const p of prefixes) await dropPrefix(p);
  });

  it('two worker processes serving analysis split the jobs and give the same decisions as one', async () => {
    // Baseline: one process does everything.
    const single = freshPrefix('one');
    prefixes.push(single);
    const one = await startPipeline(testConfig(single, OVERRIDES));
    await one.replayAndDrain();
    const expected = ((await one.ctx.decisions.all()) as Decision[]).sort(byCandle).map(essence);
    await one.close();

    // Scaled: analysis only in two other processes; this one runs the other stages.
    const scaled = freshPrefix('two');
    prefixes.push(scaled);
    const config = testConfig(scaled, OVERRIDES);
    const two = await startPipeline(config, { queues: [QUEUE.ticks, QUEUE.coordinator, 'execution-paper', QUEUE.notifications] });
    children.push(spawnAnalysisWorker(scaled), spawnAnalysisWorker(scaled));
    await waitFor(async () => (await two.ctx.queues.analysis.getWorkersCount()) === 2, 30_000);
    await two.replayAndDrain();
    const actual = ((await two.ctx.decisions.all()) as Decision[]).sort(byCandle).map(essence);

    const done = await two.ctx.queues.analysis.getCompleted(0, 100_000);
    const byProcess = new Map<string, number>();
    for (const job of done) byProcess.set(job.processedBy ?? '?', (byProcess.get(job.processedBy ?? '?') ?? 0) + 1);
    await two.close();

    expect(actual).toHaveLength(300);
    expect(actual).toEqual(expected);
    expect(done).toHaveLength(300 * config.bots.instances.length);
    const pids = children.map((c) => String(c.pid));
    expect([...byProcess.keys()].map((k) => k.split(':').at(-1)).sort()).toEqual(pids.sort());
    // Both took a real share of the work.
    for (const n of byProcess.values()) expect(n).toBeGreaterThan(done.length * 0.2);
  });
});
