import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/api/server.ts';
import { serverDepsOf } from '../src/main/serverDeps.ts';
import { runReplay, waitForDrain } from '../src/main/pipeline.ts';
import { allQueueNames } from '../queues/names.ts';
import { STARTER_INSTANCES, dropPrefix, freshPrefix, startPipeline, testConfig, waitFor, type TestPipeline } from './helpers/pipeline.ts';
import { parseMetrics, sample } from './helpers/prometheus.ts';

const TOKEN = 'fake-test-token-metrics-012345';

describe('/metrics and /readyz during a replay', () => {
  const prefix = freshPrefix('metrics');
  let pipeline: TestPipeline;
  let server: RunningServer;
  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };

  beforeAll(async () => {
    pipeline = await startPipeline(testConfig(prefix, { 'replay.files': ['data/ohlcv/ETH_BTC-5m.csv', 'data/ohlcv/LTC_BTC-5m.csv'], 'replay.lastCandles': 120, 'bots.instances': STARTER_INSTANCES }));
    server = await startServer({ ...serverDepsOf(pipeline.ctx), host: '127.0.0.1', port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('refuses /metrics without the token', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  });

  it('parses as Prometheus text and moves while the replay runs', async () => {
    const before = await scrape();
    for (const queue of allQueueNames('paper')) {
      expect(sample(before, 'quorum_queue_workers', { queue })).toBeGreaterThanOrEqual(1);
      expect(sample(before, 'quorum_queue_depth', { queue })).toBe(0);
      expect(sample(before, 'quorum_queue_oldest_waiting_age_seconds', { queue })).toBe(0);
    }
    expect(sample(before, 'quorum_decisions_total', { action: 'hold' })).toBe(0);
    expect(sample(before, 'quorum_breaker_state', { account: 'paper' })).toBe(0);
    expect(sample(before, 'quorum_trading_state', { state: 'ACTIVE' })).toBe(1);
    expect(sample(before, 'quorum_equity', { quote: 'BTC' })).toBe(1);
    expect(sample(before, 'quorum_drawdown_ratio', { quote: 'BTC' })).toBe(0);

    const replay = runReplay(pipeline.ctx);
    // While candles flow: decisions and analysis jobs are counted, and readiness holds.
    await waitFor(async () => sample(await scrape(), 'quorum_decisions_total', { action: 'hold' }) > 0, 60_000);
    const ready = await fetch(`${server.url}/readyz`);
    const readiness = await ready.json();
    expect(ready.status, JSON.stringify(readiness)).toBe(200);
    expect(readiness.checks.feedAgeMs).toBeLessThan(60_000);
    await replay;
    expect(await waitForDrain(pipeline.ctx, { timeoutMs: 120_000 })).toBe(true);
    // Job durations and counters are flushed by the workers every 200 ms.
    await waitFor(async () => sample(await scrape(), 'quorum_jobs_total', { queue: 'analysis', outcome: 'completed' }) === 240 * STARTER_INSTANCES.length, 10_000);

    const after = await scrape();
    const decided = ['buy', 'sell', 'hold'].reduce((n, action) => n + sample(after, 'quorum_decisions_total', { action }), 0);
    expect(decided).toBe(240);
    expect(sample(after, 'quorum_candles_total', { outcome: 'stored' })).toBe(240);
    expect(sample(after, 'quorum_jobs_total', { queue: 'ticks', outcome: 'completed' })).toBe(240);
    expect(after.families.get('quorum_job_duration_seconds')!.type).toBe('HISTOGRAM');
    const analyses = 240 * STARTER_INSTANCES.length;
    expect(sample(after, 'quorum_job_duration_seconds_count', { queue: 'analysis' })).toBe(analyses);
    expect(sample(after, 'quorum_job_duration_seconds_bucket', { queue: 'analysis', le: '+Inf' })).toBe(analyses);
    expect(sample(after, 'quorum_job_duration_seconds_sum', { queue: 'analysis' })).toBeGreaterThan(0);
    expect(sample(after, 'quorum_job_duration_seconds_bucket', { queue: 'analysis', le: '0.005' })).toBeLessThanOrEqual(sample(after, 'quorum_job_duration_seconds_bucket', { queue: 'analysis', le: '60' }));
    expect(after.families.get('quorum_bot_analysis_seconds')!.type).toBe('SUMMARY');
    for (const { id } of STARTER_INSTANCES) {
      expect(sample(after, 'quorum_bot_analysis_seconds_count', { instance: id }), id).toBe(240);
      expect(sample(after, 'quorum_bot_analysis_seconds_sum', { instance: id }), id).toBeGreaterThan(0);
    }
    expect(sample(after, 'quorum_bot_instances', { status: 'running' })).toBe(STARTER_INSTANCES.length);
    expect(after.families.get('quorum_denials_total')!.type).toBe('COUNTER');
  });

  it('serves the decisions with the votes behind them', async () => {
    const res = await fetch(`${server.url}/api/decisions?symbol=ETH/BTC&limit=3`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const { decisions } = await res.json();
    expect(decisions).toHaveLength(3);
    for (const d of decisions) {
      expect(d.symbol).toBe('ETH/BTC');
      expect(d.votes.length + d.abstentions.length).toBe(STARTER_INSTANCES.length);
    }
  });
});
