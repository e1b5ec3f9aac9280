import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { describeZodError } from '../src/contracts/envelope.ts';
import {
  AnalysisMessage,
  CoordinatorMessage,
  ExecutionMessage,
  NotificationDelivery,
  NotificationMessage,
  OptimizeRunMessage,
  OptimizeSweepMessage,
  TickMessage,
} from '../src/contracts/messages.ts';
import type { Config } from '../src/config/schema.ts';
import { marketKey } from '../src/core/market.ts';
import { hashTagged } from '../src/infra/keys.ts';
import { InvalidPayloadError } from './errors.ts';
import { DELIVER_JOB, QUEUE, executionQueueName, jobId, safeJobId } from './names.ts';
import { ANALYSIS_CHILD_OPTIONS, bullPriority, defaultJobOptions } from './options.ts';

/** Validates a payload against its schema, or throws an InvalidPayloadError naming every problem. */
export function parsePayload<S extends z.ZodType>(queue: string, schema: S, data: unknown): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw new InvalidPayloadError(queue, describeZodError(result.error));
  return result.data;
}

/** The typed producers: the only way messages enter a queue, each checked before it is added. */
export class Queues {
  readonly ticks: Queue;
  readonly analysis: Queue;
  readonly coordinator: Queue;
  readonly execution: Queue;
  readonly notifications: Queue;
  readonly optimize: Queue;
  readonly flows: FlowProducer;
  readonly prefix: string;

  constructor(
    connection: Redis,
    config: Config,
    readonly account: string = config.exchange.id,
  ) {
    this.prefix = hashTagged(config.redis.prefix);
    const opts = { connection, prefix: this.prefix, defaultJobOptions: defaultJobOptions(config) };
    this.ticks = new Queue(QUEUE.ticks, opts);
    this.analysis = new Queue(QUEUE.analysis, opts);
    this.coordinator = new Queue(QUEUE.coordinator, opts);
    this.execution = new Queue(executionQueueName(account), opts);
    this.notifications = new Queue(QUEUE.notifications, opts);
    this.optimize = new Queue(QUEUE.optimize, opts);
    this.flows = new FlowProducer({ connection, prefix: this.prefix });
    this.defaults = defaultJobOptions(config);
    this.executionRetry = { attempts: config.execution.attempts, backoff: { type: 'exponential', delay: config.execution.backoffMs, jitter: 0.5 } };
  }

  private readonly executionRetry: { attempts: number; backoff: { type: 'exponential'; delay: number; jitter: number } };

  private readonly defaults: ReturnType<typeof defaultJobOptions>;

  all(): Queue[] {
    return [this.ticks, this.analysis, this.coordinator, this.execution, this.notifications, this.optimize];
  }

  /** The venue's order rate, stored in Redis so that every worker of every host obeys it. */
  async applyExecutionRateLimit(ordersPerSecond: number): Promise<void> {
    const perWindow = Math.max(1, Math.floor(ordersPerSecond));
    await this.execution.setGlobalRateLimit(perWindow, Math.round((1000 * perWindow) / ordersPerSecond));
  }

  async addTick(message: TickMessage): Promise<void> {
    const m = parsePayload(QUEUE.ticks, TickMessage, message);
    await this.ticks.add('candle', m, { jobId: jobId.tick(marketKey(m.symbol), m.timeframe, m.candle.ts) });
  }

  /** One flow per closed candle: a coordinator parent waiting on one analysis child per bot instance. */
  async addCandleFlow(parent: CoordinatorMessage, children: AnalysisMessage[]): Promise<void> {
    const p = parsePayload(QUEUE.coordinator, CoordinatorMessage, parent);
    const kids = children.map((c) => parsePayload(QUEUE.analysis, AnalysisMessage, c));
    const key = marketKey(p.symbol);
    await this.flows.add({
      name: 'decide',
      queueName: QUEUE.coordinator,
      data: p,
      opts: { ...this.defaults, jobId: jobId.decision(key, p.timeframe, p.candleTs) },
      children: kids.map((c) => ({
        name: c.botId,
        queueName: QUEUE.analysis,
        data: c,
        opts: { ...this.defaults, ...ANALYSIS_CHILD_OPTIONS, jobId: jobId.analysis(c.instanceId, key, c.timeframe, c.candleTs) },
      })),
    });
  }

  /** The client order id is the job id: adding the same intent twice is a no-op. */
  async addExecution(message: ExecutionMessage): Promise<void> {
    const m = parsePayload(this.execution.name, ExecutionMessage, message);
    await this.execution.add(m.intent.side, m, { jobId: m.intent.clientOrderId, ...this.executionRetry });
  }

  /** A parameter sweep: a parent that ranks, one child backtest per combination and segment (a failed one never blocks the ranking). */
  async addSweep(parent: OptimizeSweepMessage, runs: OptimizeRunMessage[]): Promise<string> {
    const p = parsePayload(QUEUE.optimize, OptimizeSweepMessage, parent);
    const kids = runs.map((r) => parsePayload(QUEUE.optimize, OptimizeRunMessage, r));
    const id = jobId.sweep(p.sweepId);
    await this.flows.add({
      name: 'sweep',
      queueName: QUEUE.optimize,
      data: p,
      opts: { ...this.defaults, attempts: 1, jobId: id },
      children: kids.map((r) => ({
        name: 'run',
        queueName: QUEUE.optimize,
        data: r,
        opts: { ...this.defaults, ignoreDependencyOnFailure: true, jobId: jobId.sweepRun(r.sweepId, r.combo, r.segment) },
      })),
    });
    return id;
  }

  async notify(message: NotificationMessage): Promise<void> {
    const m = parsePayload(QUEUE.notifications, NotificationMessage, message);
    await this.notifications.add(m.event, m, { priority: bullPriority(m.priority) });
  }

  /**
   * One delivery job per channel, each with its own retries, at the notification's priority
   * (critical first). The job id is the notification's and the channel's: a retried fan-out adds
   * nothing twice.
   */
  async addDeliveries(deliveries: NotificationDelivery[], retry: { attempts: number; backoffMs: number }): Promise<void> {
    const ds = deliveries.map((d) => parsePayload(QUEUE.notifications, NotificationDelivery, d));
    await this.notifications.addBulk(
      ds.map((d) => ({
        name: DELIVER_JOB,
        data: d,
        opts: {
          jobId: safeJobId(`deliver-${d.notification.id}-${d.channel}`),
          priority: bullPriority(d.notification.priority),
          attempts: retry.attempts,
          backoff: { type: 'exponential', delay: retry.backoffMs, jitter: 0.5 },
        },
      })),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.all().map((q) => q.close()), this.flows.close()]);
  }
}
