import { Decimal } from 'decimal.js';
import { aggregate, byInstanceId, type Abstention, type AggregationPolicy, type Vote } from '../coordinator/aggregate.ts';
import { decide, holdingShare, intentOf, marketsToWatch, marksFrom, riskLookback, utcDay, type DecideSettings, type LossRecord } from '../coordinator/decide.ts';
import { newDecision, type Decision } from '../coordinator/decision.ts';
import { scoreVotes, type TrackRecord } from '../coordinator/trackRecord.ts';
import type { BotDefinition, BotInstance } from '../core/bot.ts';
import { analyzeWith, checkParams, trainWith, type BotCallResult } from '../core/botCall.ts';
import { sliceWindow, type Candle, type CandleWindow } from '../core/candle.ts';
import { hasKeysInOrder } from '../core/copyWith.ts';
import { initialAccount, type AccountState } from '../core/ledger.ts';
import { quoteOf, type MarketRules } from '../core/market.ts';
import type { UnsettledIntent } from '../core/order.ts';
import { orderContextOf, visitScoreCounts, visitVoteCounts, type EquityPoint, type InstanceCounters } from '../core/performance.ts';
import type { OrderContext } from '../core/roundTrips.ts';
import type { Signal } from '../core/signal.ts';
import { timeframeMs } from '../core/timeframe.ts';
import { PaperGateway, type PaperVenueOptions } from '../exchange/paper/paperGateway.ts';
import type { PositionWatch } from '../risk/exits.ts';
import { CandleSeries } from './candleSeries.ts';
import { MemoryBook } from './memoryBook.ts';

/**
 * The backtester: the pipeline's decision sequence run in one process with a simulated clock.
 * For every candle, in the replay's order, it does what the pipeline's stages do (the paper venue
 * fills on the candle, each bot instance runs on its window, the coordinator scores and
 * aggregates the votes, the pure decision applies the risk engine, the order goes to the paper
 * venue) with the same pure code and the same fill model; only storage (memory instead of Redis)
 * and the clock (candle time instead of the wall clock) differ. A replay through the queues and a
 * backtest of the same candles therefore give the same orders and fills (test/parity.e2e.test.ts).
 *
 * Bots run in this thread, synchronously: fast, but a bot that hangs hangs the backtest (the
 * pipeline's thread pool and time budget are what contain that live).
 */

/** A configured bot instance, as the registry resolves it from the config. */
export type BacktestInstance = Omit<BotInstance, 'botVersion'>;

export interface BacktestStep {
  symbol: string;
  timeframe: string;
  candle: Candle;
  prevTs: number | null;
}

export interface BacktestSetup {
  account: string;
  balances: Record<string, string>;
  markets: Readonly<Record<string, MarketRules>>;
  instances: readonly BacktestInstance[];
  bots: Readonly<Record<string, BotDefinition>>;
  policyFor(symbol: string): AggregationPolicy;
  settingsFor(timeframe: string): DecideSettings;
  trackRecord: { horizonCandles: number; halfLife: number };
  riskWindows: { atrPeriod: number; correlationLookback: number };
  /** bots.windowSize: the most candles a bot's window holds. */
  windowSize: number;
  /** Consecutive failures that take an instance out of service (bots.quarantineAfter). */
  quarantineAfter: number;
  venue: PaperVenueOptions;
  /**
   * Keep every decision, with its votes, in the record (what a comparison with the pipeline reads).
   * Off, the engine keeps only what it still reads of recent decisions (see DecisionTrace), and
   * memory stays the same however long the run: 200 instances over a year of 5-minute candles
   * would otherwise hold 20 million votes.
   */
  keepDecisionLog?: boolean | undefined;
  /** Seen by every bot call and risk read: the no-lookahead test listens here. */
  onRead?: ((read: { by: string; symbol: string; decisionTs: number; lastTs: number | null }) => void) | undefined;
}

export interface BacktestRecord {
  /** Every decision in order, when the setup asked to keep them (keepDecisionLog); empty otherwise. */
  decisions: Decision[];
  /** Decisions made, kept or not. */
  decisionCount: number;
  book: MemoryBook;
  equity: Record<string, EquityPoint[]>;
  counters: Map<string, InstanceCounters>;
  contexts: Map<string, OrderContext>;
  /** Last close of every market (what open trades are valued at). */
  marks: Record<string, string>;
  /** Candles seen per market, for the report's price charts. */
  series: Map<string, CandleSeries>;
  /** Bot failures: instance → count and last message. */
  botFailures: Map<string, { count: number; last: string }>;
  quarantined: string[];
  /** Bot evaluations made (one per instance per candle it ran on). */
  evaluations: number;
  periodMs: number;
}

/**
 * `{ instanceId, botId, weight, family, role, ...signal }`, the vote the pipeline records, without
 * the object spread (several times slower on Node 20, see core/copyWith.ts): a literal for the
 * usual signal of three keys, Object.assign (the spread's keys in the spread's order) otherwise.
 */
const byInstanceIdOf = (a: BacktestInstance, b: BacktestInstance) => byInstanceId({ instanceId: a.id }, { instanceId: b.id });

const USUAL_SIGNAL_KEYS: readonly string[] = ['action', 'confidence', 'reason'];

function voteOf(i: BacktestInstance, signal: Signal): Vote {
  if (hasKeysInOrder(signal, USUAL_SIGNAL_KEYS)) {
    return { instanceId: i.id, botId: i.botId, weight: i.weight, family: i.family, role: i.role, action: signal.action, confidence: signal.confidence, reason: signal.reason };
  }
  return Object.assign({ instanceId: i.id, botId: i.botId, weight: i.weight, family: i.family, role: i.role }, signal);
}

/**
 * What later candles read of a decision: each vote's instance, role and action (the track record
 * scores them `horizonCandles` later) and the inventory it recorded (the next candle's bots read
 * it). Not the decision: its vote objects, kept that long, outlived the young generation and
 * were promoted by the hundred thousand (most of a 200-instance backtest's garbage collection).
 */
interface DecisionTrace {
  ids: string[];
  roles: string[];
  actions: string[];
  inventory: number;
}

const WINDOW_KEYS: readonly string[] = ['length', 'ts', 'open', 'high', 'low', 'close', 'volume'];

/**
 * One candle's windows shared by the instances with the same window length, each with what it was
 * made with: a bot that swapped or added a property would otherwise show it to the next bot.
 */
class SharedSlices {
  private readonly bySize = new Map<number, CandleWindow>();
  private readonly made: Array<CandleWindow | Float64Array | number> = [];

  constructor(private readonly shared: CandleWindow) {}

  /** The last `size` candles of the shared window. */
  of(size: number): CandleWindow {
    let w = this.bySize.get(size);
    if (!w) {
      const s = this.shared;
      w = sliceWindow(s, s.length - size, s.length);
      this.bySize.set(size, w);
      this.made.push(w, size, w.ts, w.open, w.high, w.low, w.close, w.volume);
    }
    return w;
  }

  /** Whether every window still has its own keys only, holding what it was made with. */
  unchanged(): boolean {
    const m = this.made;
    for (let k = 0; k < m.length; k += 8) {
      const w = m[k] as CandleWindow;
      if (Object.getPrototypeOf(w) !== Object.prototype || !hasKeysInOrder(w, WINDOW_KEYS) || Object.getOwnPropertySymbols(w).length > 0) return false;
      if (w.length !== m[k + 1] || w.ts !== m[k + 2] || w.open !== m[k + 3] || w.high !== m[k + 4] || w.low !== m[k + 5] || w.close !== m[k + 6] || w.volume !== m[k + 7]) return false;
    }
    return true;
  }
}

export class BacktestLookaheadError extends Error {
  override readonly name = 'BacktestLookaheadError';
}

/** The longest the engine keeps the event loop before letting timers run. */
const YIELD_EVERY_MS = 50;

const seriesKey = (symbol: string, timeframe: string) => `${timeframe} ${symbol}`;
const decisionKey = (symbol: string, timeframe: string, ts: number) => `${timeframe} ${symbol} ${ts}`;

export class BacktestEngine {
  private readonly series = new Map<string, CandleSeries>();
  private readonly book: MemoryBook;
  private readonly gateway: PaperGateway;
  /** What the engine still reads of recent decisions (scoring, inventory), by decisionKey. */
  private readonly traces = new Map<string, DecisionTrace>();
  /** Per series, the keys of `traces` oldest first: what to forget once past the horizon. */
  private readonly recentDecisionKeys = new Map<string, string[]>();
  private readonly decisionLog: Decision[] = [];
  private decisionCount = 0;
  private readonly trackRecords = new Map<string, Map<string, TrackRecord>>();
  private readonly scored = new Set<string>();
  private readonly watches = new Map<string, PositionWatch>();
  private losses: LossRecord = { consecutiveStopOuts: 0, lastStopOutAt: null };
  private readonly peaks = new Map<string, number>();
  private readonly dayStarts = new Map<string, number>();
  private readonly models = new Map<string, unknown>();
  private readonly params = new Map<string, BotCallResult<unknown>>();
  /** Consecutive failures of the instances failing now (a success removes its entry). */
  private readonly streaks = new Map<string, number>();
  private readonly quarantined = new Set<string>();
  private readonly failures = new Map<string, { count: number; last: string }>();
  private readonly counters = new Map<string, InstanceCounters>();
  private readonly contexts = new Map<string, OrderContext>();
  private readonly equity: Record<string, EquityPoint[]> = {};
  private readonly lastClose = new Map<string, number>();
  /** The close each order was decided at (what unsettled buys reserve cash by). */
  private readonly refPrices = new Map<string, number>();
  /** The quote currencies of the markets traded: the currencies equity is tracked in. */
  private readonly quotes: string[];
  private readonly policies = new Map<string, AggregationPolicy>();
  private readonly marketInstances = new Map<string, { quarantined: number; list: readonly BacktestInstance[] }>();
  private readonly settings = new Map<string, DecideSettings>();
  private evaluations = 0;
  /** Bot calls made by the current pass of runInstances (a pass run again is counted once). */
  private passEvaluations = 0;
  private periodMs = 0;
  /** The candle being decided: nothing may read past it. */
  private decisionTs = -Infinity;

  constructor(private readonly setup: BacktestSetup) {
    this.book = new MemoryBook(initialAccount(setup.balances), (symbol, timeframe, ts) => this.seriesOf(symbol, timeframe).nextAfter(ts));
    this.gateway = new PaperGateway(setup.account, this.book, { ...setup.markets }, setup.venue);
    this.quotes = [...new Set(setup.instances.flatMap((i) => i.markets.map(quoteOf)))].sort();
    for (const i of setup.instances) {
      const bot = setup.bots[i.botId];
      this.params.set(i.id, bot ? checkParams(bot, i.params) : { ok: false, kind: 'failed', message: `bot "${i.botId}" is not loaded` });
    }
  }

  /** Runs every step in order; `onProgress` is told after each. */
  async run(steps: readonly BacktestStep[], onProgress?: (done: number, total: number) => void): Promise<BacktestRecord> {
    let yielded = performance.now();
    for (let k = 0; k < steps.length; k++) {
      await this.step(steps[k]!);
      onProgress?.(k + 1, steps.length);
      // Give timers their turn now and then: a worker running this as a job must renew its lock.
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
    }
    const marks = Object.fromEntries([...this.lastClose].map(([symbol, close]) => [symbol, String(close)]));
    return {
      decisions: this.decisionLog,
      decisionCount: this.decisionCount,
      book: this.book,
      equity: this.equity,
      counters: this.counters,
      contexts: this.contexts,
      marks,
      series: this.series,
      botFailures: this.failures,
      quarantined: [...this.quarantined],
      evaluations: this.evaluations,
      periodMs: this.periodMs,
    };
  }

  /** The config's policy and settings, built once per market and timeframe (they do not change during a run). */
  private policyFor(symbol: string): AggregationPolicy {
    let p = this.policies.get(symbol);
    if (!p) this.policies.set(symbol, (p = this.setup.policyFor(symbol)));
    return p;
  }

  private settingsFor(timeframe: string): DecideSettings {
    let s = this.settings.get(timeframe);
    if (!s) this.settings.set(timeframe, (s = this.setup.settingsFor(timeframe)));
    return s;
  }

  /** The enabled instances of a market not quarantined: the same list until an instance is quarantined. */
  private instancesFor(symbol: string): readonly BacktestInstance[] {
    const cached = this.marketInstances.get(symbol);
    if (cached && cached.quarantined === this.quarantined.size) return cached.list;
    // In the order votes are listed (by id): their sort then has nothing to move. Bots are pure,
    // so the order they run in changes nothing else.
    const list = this.setup.instances.filter((i) => i.enabled && i.markets.includes(symbol) && !this.quarantined.has(i.id)).sort(byInstanceIdOf);
    this.marketInstances.set(symbol, { quarantined: this.quarantined.size, list });
    return list;
  }

  private seriesOf(symbol: string, timeframe: string): CandleSeries {
    let s = this.series.get(seriesKey(symbol, timeframe));
    if (!s) this.series.set(seriesKey(symbol, timeframe), (s = new CandleSeries()));
    return s;
  }

  /**
   * A window up to `ts`, checked against the decision time: a copy for bots (user code), a view
   * of the series for the engine's own readers, which only read (a copy each was a tenth of the
   * decision time).
   */
  private window(by: string, symbol: string, timeframe: string, ts: number, n: number, shared: 'copy' | 'view' = 'copy'): CandleWindow {
    const series = this.seriesOf(symbol, timeframe);
    const w = shared === 'view' ? series.view(ts, n) : series.window(ts, n);
    const lastTs = w.length > 0 ? w.ts[w.length - 1]! : null;
    this.setup.onRead?.({ by, symbol, decisionTs: this.decisionTs, lastTs });
    if (lastTs !== null && lastTs > this.decisionTs) throw new BacktestLookaheadError(`${by} read ${symbol} at ${lastTs}, after the decision candle ${this.decisionTs}`);
    return w;
  }

  async step({ symbol, timeframe, candle, prevTs }: BacktestStep): Promise<void> {
    const tfMs = timeframeMs(timeframe);
    this.periodMs = this.periodMs === 0 ? tfMs : Math.min(this.periodMs, tfMs);
    this.seriesOf(symbol, timeframe).append(candle);
    this.lastClose.set(symbol, candle.close);
    this.decisionTs = candle.ts;
    // The simulated clock: the candle has closed.
    const now = candle.ts + tfMs;

    // The paper venue fills this market's resting orders on this candle, before anything decides.
    await this.gateway.onCandle(symbol, timeframe, candle, now);

    const instances = this.instancesFor(symbol);
    const { votes, abstentions } = this.analyse(instances, symbol, timeframe, candle, prevTs);
    const records = this.scoreEarlierVotes(symbol, timeframe, candle) ?? this.recordsOf(symbol, timeframe);
    const consensus = aggregate(votes, this.policyFor(symbol), records);
    const decision = newDecision({ symbol, timeframe, candleTs: candle.ts }, consensus, votes, abstentions, { decidedAt: now, latencyMs: 0 });

    const held = this.book.account.positions[symbol]?.amount ?? '0';
    // As the pipeline: a hold in a market not held and not watched changes nothing.
    if (!(consensus.action === 'hold' && new Decimal(held).isZero() && !this.watches.has(symbol))) this.decideTrade(decision, consensus, records, candle);
    await this.commit(decision, now);
    this.observeEquity(candle.ts);
  }

  /**
   * Every instance's vote on this candle, as the analysis stage gives them (failures abstain).
   * One copy of the market's window serves every instance (each sees its own length of it): a
   * copy per bot would cost more than most bots. Whether a bot wrote into it is checked once, after
   * all of them: bots are pure, so when the copy is found changed the candle's bots run again,
   * each checked after its call, and the one that wrote fails while the others see the market as it
   * was (a check after every call was more work than the bots themselves).
   */
  private analyse(instances: readonly BacktestInstance[], symbol: string, timeframe: string, candle: Candle, prevTs: number | null): { votes: Vote[]; abstentions: Abstention[] } {
    let longest = 0;
    for (const i of instances) longest = Math.max(longest, this.windowSizeOf(i));
    const series = this.seriesOf(symbol, timeframe);
    const shared = this.window('bots', symbol, timeframe, candle.ts, longest);
    const slices = new SharedSlices(shared);
    let run = this.runInstances(instances, shared, symbol, timeframe, candle, prevTs, null, slices);
    if (!series.isIntact(shared) || !slices.unchanged()) run = this.runInstances(instances, this.window('bots', symbol, timeframe, candle.ts, longest), symbol, timeframe, candle, prevTs, series, null);

    this.evaluations += run.evaluations;
    const votes: Vote[] = [];
    const abstentions: Abstention[] = [];
    for (let k = 0; k < instances.length; k++) {
      const i = instances[k]!;
      const outcome = run.outcomes[k]!;
      if (typeof outcome === 'string') {
        abstentions.push({ instanceId: i.id, why: outcome });
      } else if (outcome.ok) {
        // Streaks are kept only while failing: most runs never fail, and then this costs nothing.
        if (this.streaks.size !== 0) this.streaks.delete(i.id);
        votes.push(voteOf(i, outcome.value));
      } else {
        const message = outcome.kind === 'failed' ? outcome.message : `returned an invalid signal: ${outcome.problems.join('; ')}`;
        const failure = this.failures.get(i.id) ?? { count: 0, last: '' };
        this.failures.set(i.id, { count: failure.count + 1, last: message });
        const streak = (this.streaks.get(i.id) ?? 0) + 1;
        this.streaks.set(i.id, streak);
        if (streak >= this.setup.quarantineAfter) this.quarantined.add(i.id);
        abstentions.push({ instanceId: i.id, why: `failed: ${i.id}: ${message}` });
      }
    }
    votes.sort(byInstanceId);
    abstentions.sort(byInstanceId);
    return { votes, abstentions };
  }

  /**
   * Each instance's outcome on its part of `shared` (a string: why it abstained), with no effect on
   * the engine but the models it trains. With `checkAgainst`, every call is checked for writes into
   * the window: the writer fails and the others get a fresh copy. With `slices`, instances whose
   * windows have the same length get the same window object (the caller checks it is unchanged).
   */
  private runInstances(
    instances: readonly BacktestInstance[],
    shared: CandleWindow,
    symbol: string,
    timeframe: string,
    candle: Candle,
    prevTs: number | null,
    checkAgainst: CandleSeries | null,
    slices: SharedSlices | null,
  ): { outcomes: Array<BotCallResult<Signal> | string>; evaluations: number } {
    const outcomes: Array<BotCallResult<Signal> | string> = [];
    this.passEvaluations = 0;
    for (const i of instances) {
      const size = Math.min(this.windowSizeOf(i), shared.length);
      const candles = slices ? slices.of(size) : sliceWindow(shared, shared.length - size, shared.length);
      this.setup.onRead?.({ by: i.id, symbol, decisionTs: this.decisionTs, lastTs: size > 0 ? candles.ts[size - 1]! : null });
      if (candles.length < i.warmup) {
        outcomes.push(`warming up: ${candles.length} of ${i.warmup} candles`);
        continue;
      }
      let outcome = this.runBot(i, symbol, timeframe, candle, candles, prevTs);
      // The whole copy, not only the bot's part of it: its arrays' buffer reaches the rest.
      if (checkAgainst && !checkAgainst.isIntact(shared)) {
        outcome = { ok: false, kind: 'failed', message: 'wrote into its candle window (bots must treat their input as read-only)' };
        shared = this.window('bots', symbol, timeframe, candle.ts, shared.length);
      }
      outcomes.push(outcome);
    }
    return { outcomes, evaluations: this.passEvaluations };
  }

  /** The candles an instance's window holds (a method, not a closure per candle: see coordinator/aggregate.ts). */
  private windowSizeOf(i: BacktestInstance): number {
    return Math.min(this.setup.windowSize, Math.max(i.warmup, 1));
  }

  private runBot(i: BacktestInstance, symbol: string, timeframe: string, candle: Candle, candles: CandleWindow, prevTs: number | null): BotCallResult<Signal> {
    const params = this.params.get(i.id)!;
    if (!params.ok) return params;
    const bot = this.setup.bots[i.botId]!;
    const others: Record<string, CandleWindow> = {};
    // No `?? []`: that is an array per bot call, and most bots read no other market.
    const otherMarkets = i.otherMarkets[symbol];
    if (otherMarkets) {
      for (const other of otherMarkets) {
        const w = this.window(i.id, other, timeframe, candle.ts, Math.min(this.setup.windowSize, Math.max(i.warmup, 1)));
        if (w.length > 0) others[other] = w;
      }
    }
    const inventory = i.family === 'market-making' ? this.inventoryFor(symbol, timeframe, prevTs, candle.close) : 0;
    let model: unknown;
    if (i.model) {
      const trained = this.modelFor(i, bot, params.value, symbol, timeframe, candle.ts);
      if (!trained.ok) return trained;
      model = trained.value;
    }
    this.passEvaluations++;
    return analyzeWith(bot, { symbol, timeframe, candles, params: params.value, others, inventory, model: model ?? undefined });
  }

  /** What the market's previous decision recorded, as the pipeline's analysis reads it. */
  private inventoryFor(symbol: string, timeframe: string, prevTs: number | null, close: number): number {
    const previous = prevTs === null ? undefined : this.traces.get(decisionKey(symbol, timeframe, prevTs));
    if (previous) return previous.inventory;
    const account = this.book.account;
    return holdingShare(account, symbol, close, Object.fromEntries(Object.keys(account.positions).map((s) => [s, this.lastClose.get(s)])));
  }

  /** The model for the current retraining period, trained once on the candles before the period began. */
  private modelFor(i: BacktestInstance, bot: BotDefinition, params: unknown, symbol: string, timeframe: string, ts: number): BotCallResult<unknown> {
    const spec = i.model!;
    const periodMs = spec.retrainEvery * timeframeMs(timeframe);
    const periodStart = Math.floor(ts / periodMs) * periodMs;
    const key = `${i.id} ${symbol} ${timeframe} ${periodStart}`;
    if (this.models.has(key)) return { ok: true, value: this.models.get(key) };
    const history = this.window(`${i.id} (training)`, symbol, timeframe, periodStart - 1, spec.trainingWindow);
    const trained = history.length > 0 ? trainWith(bot, { symbol, timeframe, params: i.params, candles: history }, params) : ({ ok: true, value: null } as const);
    if (trained.ok) this.models.set(key, trained.value);
    return trained;
  }

  private recordsOf(symbol: string, timeframe: string): Map<string, TrackRecord> {
    let r = this.trackRecords.get(seriesKey(symbol, timeframe));
    if (!r) this.trackRecords.set(seriesKey(symbol, timeframe), (r = new Map()));
    return r;
  }

  /** Scores the decision `horizonCandles` back by the market's move since, once (as the pipeline's coordinator). */
  private scoreEarlierVotes(symbol: string, timeframe: string, candle: Candle): Map<string, TrackRecord> | undefined {
    const h = this.setup.trackRecord.horizonCandles;
    const w = this.window('track record', symbol, timeframe, candle.ts, h + 1, 'view');
    if (w.length < h + 1) return undefined;
    const [thenTs, thenClose] = [w.ts[0]!, w.close[0]!];
    const key = decisionKey(symbol, timeframe, thenTs);
    if (this.scored.has(key)) return undefined;
    const earlier = this.traces.get(key);
    if (!earlier || !(thenClose > 0)) return undefined;
    const change = candle.close / thenClose - 1;
    const records = this.recordsOf(symbol, timeframe);
    const votes = earlier.ids.map((instanceId, k) => ({ instanceId, role: earlier.roles[k]!, action: earlier.actions[k]! }));
    // Updated in place: each instance votes once per decision, so its record is read before it is replaced.
    scoreVotes(records, votes, change, thenTs, this.setup.trackRecord.halfLife, records);
    this.scored.add(key);
    visitScoreCounts(votes, change, this.count);
    return records;
  }

  /** The part that may trade: the same reads as the pipeline's coordinator under its lock, then the pure decision. */
  private decideTrade(decision: Decision, consensus: Parameters<typeof decide>[0]['consensus'], records: ReadonlyMap<string, TrackRecord>, candle: Candle): void {
    const { symbol, timeframe } = decision;
    const account = this.book.account;
    const unsettled = this.unsettled();
    const quote = quoteOf(symbol);
    const lookback = riskLookback(this.setup.riskWindows.atrPeriod, this.setup.riskWindows.correlationLookback);
    const window = this.window('risk', symbol, timeframe, candle.ts, lookback, 'view');
    const otherWindows: Record<string, CandleWindow> = {};
    for (const other of marketsToWatch(symbol, account, unsettled)) otherWindows[other] = this.window('risk', other, timeframe, candle.ts, lookback, 'view');
    const lastClose = (s: string): number | undefined => {
      const w = s === symbol ? window : otherWindows[s];
      return w && w.length > 0 ? w.close[w.length - 1] : undefined;
    };
    const day = utcDay(candle.ts);
    const outcome = decide(
      {
        symbol,
        timeframe,
        candleTs: candle.ts,
        close: candle.close,
        consensus,
        records,
        account,
        unsettled,
        window,
        otherWindows,
        marks: marksFrom(account, quote, lastClose, candle.ts),
        watch: this.watches.get(symbol),
        tradingState: 'ACTIVE',
        losses: this.losses,
        peak: this.peaks.get(quote),
        dayStart: this.dayStarts.get(`${quote}:${day}`),
      },
      this.settingsFor(timeframe),
    );
    if (outcome.watch) this.watches.set(symbol, outcome.watch);
    else this.watches.delete(symbol);
    if (outcome.equity) {
      const { value } = outcome.equity;
      // As the Redis script: a peak is kept only above zero; the day's first reading stays.
      if (value > (this.peaks.get(quote) ?? 0)) this.peaks.set(quote, value);
      if (!this.dayStarts.has(`${quote}:${day}`)) this.dayStarts.set(`${quote}:${day}`, value);
    }
    Object.assign(decision, { action: outcome.action, exit: outcome.exit, risk: outcome.risk, order: outcome.order, inventory: outcome.inventory });
  }

  /** Orders decided and not settled: in the backtest every decided order is at the venue at once. */
  private unsettled(): UnsettledIntent[] {
    return this.book.openNow().map((o) => ({ intent: o.intent, timeframe: o.timeframe, refPrice: this.refPrices.get(o.intent.clientOrderId)! }));
  }

  /** Records the decision and hands its order to the paper venue (execution's part, at once). */
  private async commit(decision: Decision, now: number): Promise<void> {
    this.remember(decision);
    visitVoteCounts(decision.votes, this.count);
    if (!decision.order) return;
    this.contexts.set(decision.order.clientOrderId, orderContextOf(decision));
    this.refPrices.set(decision.order.clientOrderId, this.lastClose.get(decision.symbol)!);
    if (decision.exit) {
      this.losses = decision.exit.stopOut ? { consecutiveStopOuts: this.losses.consecutiveStopOuts + 1, lastStopOutAt: decision.candleTs } : { ...this.losses, consecutiveStopOuts: 0 };
    }
    await this.gateway.placeOrder(intentOf(decision.symbol, decision.candleTs, decision.order, decision.risk.reason), decision.timeframe, now);
  }

  /**
   * Keeps what later candles read of the decision while they may: the inventory reads the previous
   * candle's, the track record the one `horizonCandles` back (once scored, its key in `scored` goes
   * with it).
   */
  private remember(decision: Decision): void {
    const series = seriesKey(decision.symbol, decision.timeframe);
    const key = decisionKey(decision.symbol, decision.timeframe, decision.candleTs);
    const n = decision.votes.length;
    const trace: DecisionTrace = { ids: new Array(n), roles: new Array(n), actions: new Array(n), inventory: decision.inventory };
    for (let k = 0; k < n; k++) {
      const v = decision.votes[k]!;
      trace.ids[k] = v.instanceId;
      trace.roles[k] = v.role;
      trace.actions[k] = v.action;
    }
    this.traces.set(key, trace);
    this.decisionCount++;
    if (this.setup.keepDecisionLog) this.decisionLog.push(decision);
    let keys = this.recentDecisionKeys.get(series);
    if (!keys) this.recentDecisionKeys.set(series, (keys = []));
    keys.push(key);
    if (keys.length > this.setup.trackRecord.horizonCandles + 2) {
      const old = keys.shift()!;
      this.traces.delete(old);
      this.scored.delete(old);
    }
  }

  /**
   * An arrow property, handed to the vote visitors as it is (no closure per candle). A switch, not
   * `c[counter]++`: a keyed store whose key changes takes V8's slow path, for every vote.
   */
  private readonly count = (instanceId: string, counter: keyof InstanceCounters): void => {
    let c = this.counters.get(instanceId);
    if (!c) this.counters.set(instanceId, (c = { buys: 0, sells: 0, scored: 0, hits: 0 }));
    switch (counter) {
      case 'buys':
        c.buys++;
        break;
      case 'sells':
        c.sells++;
        break;
      case 'scored':
        c.scored++;
        break;
      case 'hits':
        c.hits++;
        break;
    }
  };

  /** Equity of every currency held or funded, at the latest closes, once per candle time. */
  private observeEquity(ts: number): void {
    const account: AccountState = this.book.account;
    for (const quote of this.quotes) {
      let value = new Decimal(account.cash[quote] ?? '0');
      let valued = true;
      for (const [s, p] of Object.entries(account.positions)) {
        if (quoteOf(s) !== quote || new Decimal(p.amount).isZero()) continue;
        const last = this.lastClose.get(s);
        if (last === undefined) {
          valued = false;
          break;
        }
        value = value.plus(new Decimal(p.amount).mul(last));
      }
      if (!valued) continue;
      const curve = (this.equity[quote] ??= []);
      const point = { ts, equity: value.toNumber() };
      if (curve.length > 0 && curve[curve.length - 1]!.ts === ts) curve[curve.length - 1] = point;
      else curve.push(point);
    }
  }
}
