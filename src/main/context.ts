import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { MarketRules } from '../core/market.ts';
import { loadMarketRules } from '../core/marketRulesSchema.ts';
import { keyspace, type Keyspace } from '../infra/keys.ts';
import type { Logger } from '../infra/logger.ts';
import { assertNoEviction, createRedis, type Redis } from '../infra/redis.ts';
import { CandleStore } from '../store/candleStore.ts';
import { RiskStore } from '../store/riskStore.ts';
import { PerformanceStore } from '../store/performanceStore.ts';
import { DecisionStore } from '../store/decisionStore.ts';
import { LedgerStore } from '../store/ledgerStore.ts';
import { BotHealthStore, StatsStore } from '../store/statsStore.ts';
import { resolveReplayFiles, type ReplayFile } from '../feed/replayFiles.ts';
import { Queues } from '../../queues/producers.ts';

/** Candles kept per series: the largest window a bot may ask for, plus room for late readers. */
const SERIES_HEADROOM = 200;

export interface MarketSeries {
  symbol: string;
  timeframe: string;
}

/** The series a deployment trades: the ccxt feed's markets, or the replayed files' (one per symbol and timeframe). */
export function seriesOf(config: Config, replayFiles: readonly ReplayFile[]): MarketSeries[] {
  if (config.feed.source === 'ccxt') return config.feed.markets.map((symbol) => ({ symbol, timeframe: config.feed.timeframe }));
  const seen = new Set<string>();
  return replayFiles.flatMap(({ symbol, timeframe }) => (seen.has(`${symbol} ${timeframe}`) ? [] : (seen.add(`${symbol} ${timeframe}`), [{ symbol, timeframe }])));
}

/** The shared pieces every role (worker, server, feed) is built from. One per process. */
export interface Context {
  config: Config;
  log: Logger;
  redisUrl: string;
  redis: Redis;
  keys: Keyspace;
  queues: Queues;
  candles: CandleStore;
  decisions: DecisionStore;
  ledger: LedgerStore;
  stats: StatsStore;
  health: BotHealthStore;
  risk: RiskStore;
  performance: PerformanceStore;
  markets: Record<string, MarketRules>;
  replayFiles: ReplayFile[];
  /** The markets and timeframes this deployment trades: its replay files', or the ccxt feed's. */
  series: MarketSeries[];
  account: string;
  cwd: string;
  close(): Promise<void>;
}

export async function createContext(config: Config, log: Logger, redisUrl: string, cwd = process.cwd()): Promise<Context> {
  const redis = createRedis(redisUrl, { usage: 'worker' });
  redis.on('error', (error) => log.error({ err: error.message }, 'redis connection error'));
  await assertNoEviction(redis);
  const keys = keyspace(config.redis.prefix);
  const account = config.exchange.id;
  // Candles kept per series: enough for the bots' windows and for the risk engine's lookbacks.
  const history = Math.max(config.bots.windowSize, config.bots.trainingWindow, config.risk.correlationLookback + 1, config.risk.atrPeriod + 1, config.coordinator.trackRecord.horizonCandles + 1);
  const candles = new CandleStore(redis, keys, history + SERIES_HEADROOM);
  // Per-candle keys are kept for at least every candle still in its series: a candle that comes
  // again (a replay run twice) is then a duplicate of one whose decision is still found, never
  // decided afresh, and the vote scored `horizonCandles` back is always still marked.
  const keepPerSeries = Math.max(config.coordinator.keepDecisions, candles.cap);
  const ledger = new LedgerStore(redis, keys, account, candles);
  const paper = config.exchange.mode === 'paper';
  // A real venue's ledger opens from its balances and its rules come from ccxt (src/main/venue.ts).
  if (paper) await ledger.ensureAccount(config.paper.balances);
  const markets: Record<string, MarketRules> = paper ? loadMarketRules(JSON.parse(readFileSync(resolve(cwd, config.paper.marketsFile), 'utf8'))) : {};
  const queues = new Queues(redis, config, account);
  const replayFiles = resolveReplayFiles(config.replay.files, { cwd, timeframes: config.replay.timeframes });
  const health = new BotHealthStore(redis, keys, (error) => log.error({ err: error.message }, 'could not save bot health'));
  return {
    config,
    log,
    redisUrl,
    redis,
    keys,
    queues,
    candles,
    decisions: new DecisionStore(redis, keys, keepPerSeries),
    ledger,
    stats: new StatsStore(redis, keys),
    health,
    risk: new RiskStore(redis, keys, keepPerSeries),
    performance: new PerformanceStore(redis, keys),
    markets,
    replayFiles,
    series: seriesOf(config, replayFiles),
    account,
    cwd,
    async close() {
      await health.flush().catch((error: Error) => log.error({ err: error.message }, 'could not save bot health'));
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
