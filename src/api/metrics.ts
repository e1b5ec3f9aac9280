import type { Queue } from 'bullmq';
import { Counter, Gauge, Registry } from 'prom-client';
import { JOB_DURATION_BUCKETS, type Timings } from '../store/timingStore.ts';
import type { TradingStateRecord } from '../risk/tradingState.ts';

export interface MetricsDeps {
  queues: Queue[];
  counters(): Promise<Record<string, number>>;
  timings(): Promise<Timings>;
  breaker(): Promise<{ account: string; state: { status: string } }>;
  risk(): Promise<{ tradingState: TradingStateRecord; quotes: Array<{ quote: string; equity: string; peak: number | null; drawdown: number | null; exposure: number; openPositions: number }> }>;
  botStatuses(): Promise<string[]>;
}

const BREAKER_LEVEL: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 };
const WAITING_STATES = ['waiting', 'prioritized'] as const;

/**
 * A histogram or summary whose figures are already aggregated in Redis (by every worker process):
 * prom-client formats it; nothing is observed in this process.
 */
class Precomputed {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'histogram' | 'summary',
    private readonly values: Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>,
  ) {}
  readonly aggregator = 'sum' as const;
  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values };
  }
}

async function oldestWaitingAge(queue: Queue, now: number): Promise<number> {
  const jobs = await queue.getJobs([...WAITING_STATES], 0, 0, true);
  const oldest = Math.min(...jobs.filter(Boolean).map((j) => j.timestamp));
  return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
}

/**
 * The Prometheus exposition, built at scrape time from Redis: queue depths from BullMQ, counters,
 * timings, breaker, equity and drawdown from the shared stores. So it is the same whichever
 * server process is scraped, and covers every worker process.
 */
export async function renderMetrics(deps: MetricsDeps, now = Date.now()): Promise<{ contentType: string; body: string }> {
  const registry = new Registry();
  const [counters, timings, breaker, risk, botStatuses] = await Promise.all([deps.counters(), deps.timings(), deps.breaker(), deps.risk(), deps.botStatuses()]);
  const n = (k: string) => counters[k] ?? 0;
  const byPrefix = (prefix: string) => Object.entries(counters).filter(([k]) => k.startsWith(prefix) && !k.slice(prefix.length).includes('.')).map(([k, v]) => [k.slice(prefix.length), v] as const);

  const jobs = new Gauge({ name: 'quorum_queue_jobs', help: 'Jobs in each queue by state', labelNames: ['queue', 'state'], registers: [registry] });
  const depth = new Gauge({ name: 'quorum_queue_depth', help: 'Jobs waiting to be processed (waiting, prioritized, delayed)', labelNames: ['queue'], registers: [registry] });
  const oldest = new Gauge({ name: 'quorum_queue_oldest_waiting_age_seconds', help: 'Age of the oldest job waiting for a worker (0 when none waits)', labelNames: ['queue'], registers: [registry] });
  const workers = new Gauge({ name: 'quorum_queue_workers', help: 'Workers connected to each queue (all processes)', labelNames: ['queue'], registers: [registry] });
  const finished = new Counter({ name: 'quorum_jobs_total', help: 'Jobs finished, by queue and outcome (failed = final failure; retried = an attempt that will be retried)', labelNames: ['queue', 'outcome'], registers: [registry] });
  await Promise.all(
    deps.queues.map(async (q) => {
      const c = await q.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed', 'paused');
      for (const [state, count] of Object.entries(c)) jobs.set({ queue: q.name, state }, count);
      // A job scheduler (reconciliation, notification digests and monitors) always keeps its next run delayed: that is not work waiting.
      const scheduled = await q.getJobSchedulersCount();
      depth.set({ queue: q.name }, (c.waiting ?? 0) + (c.prioritized ?? 0) + Math.max(0, (c.delayed ?? 0) - scheduled) + (c.paused ?? 0));
      oldest.set({ queue: q.name }, await oldestWaitingAge(q, now));
      workers.set({ queue: q.name }, (await q.getWorkers()).length);
      for (const outcome of ['completed', 'failed', 'retried']) finished.inc({ queue: q.name, outcome }, n(`jobs.${q.name}.${outcome}`));
    }),
  );

  const durationValues: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
  for (const q of deps.queues) {
    const h = timings.jobs[q.name] ?? { buckets: JOB_DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
    JOB_DURATION_BUCKETS.forEach((le, i) => durationValues.push({ metricName: 'quorum_job_duration_seconds_bucket', labels: { queue: q.name, le }, value: h.buckets[i]! }));
    durationValues.push({ metricName: 'quorum_job_duration_seconds_bucket', labels: { queue: q.name, le: '+Inf' }, value: h.count });
    durationValues.push({ metricName: 'quorum_job_duration_seconds_sum', labels: { queue: q.name }, value: h.sum });
    durationValues.push({ metricName: 'quorum_job_duration_seconds_count', labels: { queue: q.name }, value: h.count });
  }
  registry.registerMetric(new Precomputed('quorum_job_duration_seconds', 'Processing time of finished jobs (completed or failed attempts)', 'histogram', durationValues) as never);

  const botValues = Object.entries(timings.bots).flatMap(([instance, t]) => [
    { metricName: 'quorum_bot_analysis_seconds_sum', labels: { instance }, value: t.sum },
    { metricName: 'quorum_bot_analysis_seconds_count', labels: { instance }, value: t.count },
  ]);
  registry.registerMetric(new Precomputed('quorum_bot_analysis_seconds', 'Time of each bot instance analysis job (sum and count: rate(sum)/rate(count) is the mean latency)', 'summary', botValues) as never);

  const decisions = new Counter({ name: 'quorum_decisions_total', help: 'Decisions recorded, by action', labelNames: ['action'], registers: [registry] });
  for (const action of ['buy', 'sell', 'hold']) decisions.inc({ action }, n(`decisions.${action}`));
  const orders = new Counter({ name: 'quorum_orders_total', help: 'Orders placed, and orders that ended, by status', labelNames: ['status'], registers: [registry] });
  orders.inc({ status: 'placed' }, n('orders'));
  for (const status of ['filled', 'cancelled', 'rejected']) orders.inc({ status }, n(`orders.${status}`));
  new Counter({ name: 'quorum_fills_total', help: 'Fills applied to the ledger', registers: [registry] }).inc(n('fills'));
  const denials = new Counter({ name: 'quorum_denials_total', help: 'Entries denied by the risk engine, by the gate that denied them', labelNames: ['reason'], registers: [registry] });
  for (const [reason, v] of byPrefix('denials.')) denials.inc({ reason }, v);
  const exits = new Counter({ name: 'quorum_exits_total', help: 'Exits fired by the position monitor, by kind', labelNames: ['kind'], registers: [registry] });
  for (const [kind, v] of byPrefix('exits.')) exits.inc({ kind }, v);
  const candles = new Counter({ name: 'quorum_candles_total', help: 'Candles by what became of them', labelNames: ['outcome'], registers: [registry] });
  candles.inc({ outcome: 'replayed' }, n('candles.replayed'));
  candles.inc({ outcome: 'stored' }, n('candles.stored'));
  candles.inc({ outcome: 'duplicate' }, n('candles.duplicate'));
  candles.inc({ outcome: 'rejected' }, n('rejected.candle'));
  new Counter({ name: 'quorum_payloads_rejected_total', help: 'Queue messages refused by their schema', registers: [registry] }).inc(n('rejected.payload'));

  new Gauge({ name: 'quorum_breaker_state', help: 'Circuit breaker of the execution account: 0 closed, 1 half-open, 2 open', labelNames: ['account'], registers: [registry] }).set(
    { account: breaker.account },
    BREAKER_LEVEL[breaker.state.status] ?? 2,
  );
  const trading = new Gauge({ name: 'quorum_trading_state', help: 'The kill switch: 1 for the current trading state', labelNames: ['state'], registers: [registry] });
  for (const state of ['ACTIVE', 'REDUCING', 'HALTED']) trading.set({ state }, risk.tradingState.state === state ? 1 : 0);

  const equity = new Gauge({ name: 'quorum_equity', help: 'Account equity per quote currency (cash plus positions at their latest close)', labelNames: ['quote'], registers: [registry] });
  const drawdown = new Gauge({ name: 'quorum_drawdown_ratio', help: 'Fall of equity from its peak, as a fraction of the peak', labelNames: ['quote'], registers: [registry] });
  const exposure = new Gauge({ name: 'quorum_exposure_ratio', help: 'Positions at their latest close, as a fraction of equity', labelNames: ['quote'], registers: [registry] });
  const open = new Gauge({ name: 'quorum_open_positions', help: 'Markets held', labelNames: ['quote'], registers: [registry] });
  for (const q of risk.quotes) {
    equity.set({ quote: q.quote }, Number(q.equity));
    drawdown.set({ quote: q.quote }, q.drawdown ?? 0);
    exposure.set({ quote: q.quote }, q.exposure);
    open.set({ quote: q.quote }, q.openPositions);
  }

  const bots = new Gauge({ name: 'quorum_bot_instances', help: 'Configured bot instances by status', labelNames: ['status'], registers: [registry] });
  for (const status of ['running', 'quarantined', 'disabled', 'disabled in config']) bots.set({ status }, botStatuses.filter((s) => s === status).length);

  return { contentType: registry.contentType, body: await registry.metrics() };
}
