import { paperVenueOptionsOf } from './policies.ts';
import type { Queue } from 'bullmq';
import type { Config } from '../config/schema.ts';
import { stamp } from '../contracts/envelope.ts';
import { loadMarketRules } from '../core/marketRulesSchema.ts';
import type { MarketRules } from '../core/market.ts';
import type { ExchangeGateway } from '../exchange/gateway.ts';
import { PaperGateway } from '../exchange/paper/paperGateway.ts';
import { CcxtGateway, type ReconcileReport } from '../exchange/ccxt/ccxtGateway.ts';
import { loadCcxt } from '../exchange/ccxt/library.ts';
import { VenueClient } from '../exchange/ccxt/venueClient.ts';
import type { VenueError } from '../exchange/ccxt/errorPolicy.ts';
import { nextProbeAt, type BreakerTransition } from '../exchange/breaker.ts';
import { BreakerStore } from '../store/breakerStore.ts';
import { RequestBudget } from '../store/requestBudget.ts';
import { AuditLog } from '../store/auditLog.ts';
import type { Context } from './context.ts';
import { StartupError } from './startupError.ts';
import { notifyFilled } from '../../processors/common.ts';

export interface VenueStartOptions {
  /** The --confirm-live flag: live trading is never started without it. */
  confirmLive?: boolean | undefined;
  /**
   * This process sends orders (it serves the execution queue): it needs the API keys. Processes
   * that only decide (ticks, coordinator) read the venue's public market rules without them.
   */
  trading?: boolean | undefined;
}

/**
 * Why this configuration must not trade, or nothing. Live trading needs three things: live mode
 * in config, API keys in the environment, and --confirm-live on the command line.
 */
export async function venueStartProblems(config: Config, options: VenueStartOptions): Promise<string[]> {
  const { id, mode, apiKey, apiSecret, baseUrl } = config.exchange;
  if (mode === 'paper') return [];
  const ccxt = await loadCcxt();
  const problems: string[] = [];
  if (id === 'paper' || !ccxt.exchanges.includes(id)) {
    problems.push(`exchange.id "${id}" is not a ccxt exchange id: set QUORUM_EXCHANGE (e.g. binance) for ${mode} mode, or QUORUM_MODE=paper`);
  }
  if (options.trading !== false && (!apiKey || !apiSecret)) {
    problems.push(`${mode} trading needs API keys: set ${[!apiKey && 'QUORUM_API_KEY', !apiSecret && 'QUORUM_API_SECRET'].filter(Boolean).join(' and ')} in the environment (never in a file)`);
  }
  if (mode === 'testnet' && !baseUrl && problems.length === 0) {
    const Class = (ccxt as unknown as Record<string, new () => { urls: Record<string, unknown> }>)[id];
    if (Class && !new Class().urls.test) problems.push(`${id} has no sandbox in ccxt: set exchange.baseUrl (QUORUM_EXCHANGE_BASE_URL) to its testnet, or use paper mode`);
  }
  if (mode === 'live' && !options.confirmLive) {
    problems.push('live mode trades real money: start it with --confirm-live as well');
  }
  return problems;
}

export interface Venue {
  gateway: ExchangeGateway;
  /** The market rules orders are checked against: the venue's own for ccxt, data/markets.json for paper. */
  markets: Record<string, MarketRules>;
  /** Real venues: brings the ledger in line with the venue. */
  reconcile?(now: number): Promise<ReconcileReport>;
  /** Real venues: until when every process must leave the venue alone (its Retry-After). */
  backOffUntil?(): Promise<number | undefined>;
  audit: AuditLog;
  close(): Promise<void>;
}

/** The symbols this deployment trades: the ones its feed brings. */
function tradedSymbols(ctx: Context): string[] {
  return [...new Set(ctx.series.map((f) => f.symbol))];
}

/**
 * Builds the venue orders go to. Paper: the simulated exchange on the ledger. testnet and live:
 * ccxt, with every REST call under the account's shared request budget and shared back-off, every
 * venue failure counted by the shared circuit breaker, market rules loaded from the venue, and the
 * ledger opened from the venue's balances the first time.
 */
export async function createVenue(ctx: Context, options: VenueStartOptions = {}): Promise<Venue> {
  const audit = new AuditLog(ctx.redis, ctx.keys);
  const { config } = ctx;
  if (config.exchange.mode === 'paper') {
    // Paper trading on live candles takes the exchange's real market rules (public endpoints, no keys); on replayed ones, data/markets.json's.
    const markets = config.feed.source === 'ccxt' ? venueMarkets(await (await connectVenue(ctx, audit, false)).client.loadMarkets(), tradedSymbols(ctx), config.exchange.id) : ctx.markets;
    const gateway = new PaperGateway(ctx.account, ctx.ledger, markets, paperVenueOptionsOf(config));
    return { gateway, markets, audit, close: () => audit.close() };
  }
  const problems = await venueStartProblems(config, options);
  if (problems.length > 0) throw new StartupError(`refusing to start ${config.exchange.mode} trading on ${config.exchange.id}:`, problems);
  const trading = options.trading !== false;
  const { client, budget, breaker, breakerEvents } = await connectVenue(ctx, audit, trading);

  const markets = venueMarkets(await client.loadMarkets(), tradedSymbols(ctx), config.exchange.id);
  const gateway = new CcxtGateway(ctx.account, client, ctx.ledger, markets, {
    lookupAttempts: config.execution.lookupAttempts,
    lookupDelayMs: config.execution.lookupDelayMs,
    resendAfterMs: config.execution.resendAfterMs,
    breakerOpen: async () => (await breaker.state()).status !== 'closed',
    adoptTimeframe: config.replay.timeframes[0] ?? '5m',
  });
  if (!trading) return { gateway, markets, audit, close: () => audit.close() };
  await ctx.ledger.ensureAccount(await gateway.venueBalances());

  const prober = new BreakerProber(ctx, breaker, breakerEvents, () => client.balances());
  prober.start();
  return {
    gateway,
    markets,
    reconcile: async (now) => {
      // Orders that fill at the venue after placement (resting limits, partial fills) are seen here.
      const openBefore = await ctx.ledger.openOrders();
      const report = await gateway.reconcile(now, async (id) => {
        const job = await ctx.queues.execution.getJob(id);
        return job !== undefined && !(await job.isFailed()) && !(await job.isCompleted());
      });
      const settled = await Promise.all([...openBefore.map((o) => o.intent.clientOrderId), ...report.adopted].map((id) => ctx.ledger.getOrder(id)));
      await notifyFilled(ctx.queues, settled.filter((o) => o !== undefined), Date.now());
      if (report.adopted.length > 0 || report.abandoned.length > 0 || report.drift.length > 0) {
        await audit.append('reconciled', { ...report });
        ctx.log.warn({ ...report }, 'reconciliation changed the ledger or found drift');
      }
      if (report.drift.length > 0) {
        await ctx.queues.notify({
          ...stamp('notification', 1, Date.now()),
          priority: 'warning',
          event: 'ledger.drift',
          title: `ledger and ${config.exchange.id} balances differ`,
          body: report.drift.map((d) => `${d.currency}: ledger ${d.ledger}, venue ${d.venue}`).join('\n'),
        });
      }
      return report;
    },
    backOffUntil: async () => (await budget.backOffState())?.until,
    audit,
    async close() {
      prober.stop();
      await audit.close();
    },
  };
}

/**
 * A ccxt client of the account wired to the shared pieces: every request under the account's
 * request budget, every 429/418 into the shared back-off, every venue failure to the breaker.
 * Keys only where orders are sent (`trading`): a deciding process or a feed cannot trade even by
 * mistake.
 */
export async function connectVenue(ctx: Context, audit: AuditLog, trading: boolean): Promise<{ client: VenueClient; budget: RequestBudget; breaker: BreakerStore; breakerEvents: BreakerEvents }> {
  await loadCcxt();
  const { config } = ctx;
  const breaker = new BreakerStore(ctx.redis, ctx.keys, ctx.account, config.execution.breaker);
  const breakerEvents = new BreakerEvents(ctx, ctx.queues.execution, audit);
  let budget: RequestBudget | undefined;
  const client = new VenueClient(
    { id: config.exchange.id, mode: config.exchange.mode === 'testnet' ? 'testnet' : 'live', apiKey: trading ? config.exchange.apiKey : undefined, apiSecret: trading ? config.exchange.apiSecret : undefined, baseUrl: config.exchange.baseUrl, timeoutMs: config.exchange.timeoutMs },
    {
      take: (cost) => budget!.take(cost),
      onThrottled: (ms, status) => {
        void budget!
          .backOff(ms, `${config.exchange.id} answered ${status}`)
          .then(() => ctx.stats.incr(`venue.throttled.${status}`))
          .catch((error: Error) => ctx.log.error({ err: error.message }, 'could not record the venue back-off'));
      },
      onVenueFailure: (error: VenueError) => {
        void breaker
          .record({ type: 'failure', at: Date.now(), reason: error.message })
          .then((step) => breakerEvents.on(step.transition, step.state.reason ?? error.message))
          .catch((e: Error) => ctx.log.error({ err: e.message }, 'could not record a venue failure with the breaker'));
      },
    },
  );
  budget = new RequestBudget(ctx.redis, ctx.keys, ctx.account, { costPerSecond: config.exchange.requestBudget.costPerSecond ?? client.defaultCostPerSecond, burst: config.exchange.requestBudget.burst });
  return { client, budget, breaker, breakerEvents };
}

/** The venue's markets that this deployment trades, checked; a traded symbol the venue lacks stops the start. */
function venueMarkets(all: Record<string, unknown>, symbols: string[], venue: string): Record<string, MarketRules> {
  const missing = symbols.filter((s) => !(s in all));
  if (missing.length > 0) throw new StartupError(`${venue} has no market for some traded symbols:`, missing.map((s) => `${s} is not listed by ${venue}`));
  return loadMarketRules(Object.fromEntries(symbols.map((s) => [s, all[s]])));
}

/** What a breaker transition does, done once by the process whose event caused it. */
export class BreakerEvents {
  constructor(
    private readonly ctx: Context,
    private readonly queue: Queue,
    private readonly audit: AuditLog,
  ) {}

  async on(transition: BreakerTransition | undefined, reason: string): Promise<void> {
    if (!transition || transition === 'half-opened') return;
    const { ctx } = this;
    const venue = ctx.config.exchange.id;
    if (transition === 'opened' || transition === 'reopened') await this.queue.pause();
    if (transition === 'closed') await this.queue.resume();
    await ctx.stats.incr(`breaker.${transition}`);
    await this.audit.append(`breaker.${transition}`, { account: ctx.account, reason });
    const priority = transition === 'opened' ? 'critical' : transition === 'reopened' ? 'warning' : 'info';
    const title = transition === 'closed' ? `${venue} breaker closed: orders flow again` : transition === 'opened' ? `${venue} breaker opened: execution paused` : `${venue} breaker probe failed: execution stays paused`;
    ctx.log[transition === 'closed' ? 'info' : 'error']({ account: ctx.account, reason }, title);
    await ctx.queues.notify({ ...stamp('notification', 1, Date.now()), priority, event: transition === 'closed' ? 'breaker.closed' : 'breaker.opened', title, body: reason });
  }
}

/** Each execution process checks the shared breaker; when a probe is due, one of them probes the venue. */
class BreakerProber {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly ctx: Context,
    private readonly breaker: BreakerStore,
    private readonly events: BreakerEvents,
    private readonly probe: () => Promise<unknown>,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const state = await this.breaker.state();
      if (state.status === 'closed') return;
      const due = nextProbeAt(state, this.ctx.config.execution.breaker);
      if (due === undefined || Date.now() < due) return;
      const step = await this.breaker.record({ type: 'probe', at: Date.now() });
      if (step.transition !== 'half-opened') return;
      try {
        await this.probe();
      } catch (error) {
        // A venue failure was recorded by the client's hook (reopening it); anything else is recorded here.
        const after = await this.breaker.state();
        if (after.status === 'half-open') {
          const failed = await this.breaker.record({ type: 'failure', at: Date.now(), reason: `probe failed: ${(error as Error).message}` });
          await this.events.on(failed.transition, failed.state.reason ?? 'probe failed');
        }
        return;
      }
      const closed = await this.breaker.record({ type: 'success', at: Date.now() });
      await this.events.on(closed.transition, 'probe succeeded');
    } catch (error) {
      this.ctx.log.error({ err: (error as Error).message }, 'breaker probe loop failed');
    } finally {
      this.busy = false;
    }
  }
}
