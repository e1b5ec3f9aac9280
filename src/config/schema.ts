import { z } from 'zod';
import { BOT_FAMILIES } from '../core/bot.ts';
import { defaultInstances } from './defaultInstances.ts';
import { isSymbol } from '../core/market.ts';
import { isTimeframe } from '../core/timeframe.ts';

/**
 * The one configuration schema. Every field has a default and a one-line description (shown by
 * `quorum config check --explain`). Fields marked secret may only come from the environment.
 */

const decimalString = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?$/, 'must be a non-negative decimal number written as a string, e.g. "0.001"');

const positiveInt = z.number().int().positive();

const symbol = z.string().refine((v: string): boolean => isSymbol(v), 'must be a unified market symbol like "ADA/BTC"');
const timeframe = z.string().refine((v: string): boolean => isTimeframe(v), 'must be a timeframe like "1m", "5m", "1h"');

export const SECRET_PATHS = ['exchange.apiKey', 'exchange.apiSecret', 'server.token'] as const;

const RedisSchema = z
  .object({
    url: z.string().url().optional().describe('Redis URL (env REDIS_URL); unset: 127.0.0.1:6379, else a private redis-server'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1-40 letters, digits, "-" or "_"')
      .default('quorum')
      .describe('Namespace of every key; wrapped in {} as a hash tag so all keys share one Cluster slot'),
    startPrivate: z.boolean().default(true).describe('Start a private redis-server on a free port when none is reachable'),
    waitMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(30_000)
      .describe('How long a process waits at start for a configured Redis that is not answering (restarting, or started at the same time) before it gives up'),
  })
  .strict();

const LogSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Minimum log level'),
    format: z.enum(['auto', 'json', 'pretty']).default('auto').describe('auto: readable on a terminal, JSON otherwise'),
  })
  .strict();

const ServerSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server binds to; beyond loopback a token is required'),
    port: z.number().int().min(0).max(65535).default(3000).describe('HTTP port (env QUORUM_PORT); 0 picks a free one'),
    token: z.string().min(16, 'must be at least 16 characters').optional().describe('Secret. Bearer token for every non-health route (env QUORUM_TOKEN)'),
  })
  .strict();

const ExchangeSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9]+$/, 'must be a ccxt exchange id or "paper"').default('paper').describe('Exchange account to trade on: "paper" or a ccxt exchange id (env QUORUM_EXCHANGE)'),
    mode: z.enum(['paper', 'testnet', 'live']).default('paper').describe('paper: simulated fills; testnet: sandbox; live: real money (env QUORUM_MODE)'),
    apiKey: z.string().min(1).optional().describe('Secret. Exchange API key (env QUORUM_API_KEY)'),
    apiSecret: z.string().min(1).optional().describe('Secret. Exchange API secret (env QUORUM_API_SECRET)'),
    ordersPerSecond: z.number().positive().max(1000).default(10).describe('Global order rate of this account, shared by every worker (BullMQ limiter)'),
    baseUrl: z
      .string()
      .regex(/^https?:\/\/[^/?#]+\/?$/, 'must be scheme, host and port only, e.g. "http://127.0.0.1:8080"')
      .optional()
      .describe("Replaces the scheme and host of every REST URL of the ccxt exchange: testnets, proxies, tests (env QUORUM_EXCHANGE_BASE_URL)"),
    timeoutMs: positiveInt.max(120_000).default(10_000).describe('ccxt request timeout; an order create that times out is looked up by its client order id before any retry'),
    requestBudget: z
      .object({
        costPerSecond: z.number().positive().max(100_000).optional().describe("ccxt request cost units per second for all processes together; unset: 1000 / the exchange's ccxt rateLimit"),
        burst: z.number().min(1).max(100_000).default(50).describe('Cost that may be spent at once after an idle spell; at least the costliest single request (a request costing more is refused)'),
      })
      .strict()
      .prefault({})
      .describe('Request-weight budget in Redis shared by every REST call of this account in every process (ccxt per-endpoint costs)'),
  })
  .strict();

const ExecutionSchema = z
  .object({
    maxStartedAttempts: positiveInt.max(1000).default(30).describe('An order job started this many times (retries and rate-limit deferrals together) fails for good'),
    lookupAttempts: positiveInt.max(20).default(3).describe('Lookups by client order id after a create whose outcome is unknown, before the job is retried'),
    lookupDelayMs: z.number().int().min(0).max(60_000).default(300).describe('Pause between those lookups'),
    resendAfterMs: positiveInt.max(600_000).default(15_000).describe("An order whose create went unanswered and was not found is sent again only after this long, when the venue would refuse the first request as stale (binance's recvWindow is 10 s)"),
    attempts: positiveInt.max(100).default(8).describe('Attempts of an order job that fails with a retryable error (throttling and breaker waits do not count)'),
    backoffMs: positiveInt.default(1000).describe('First retry delay of an order job; doubles each attempt, with jitter'),
    reconcileEverySeconds: positiveInt.max(86_400).default(60).describe('Reconciliation of open orders, fills and balances with the exchange (also run at start-up)'),
    breaker: z
      .object({
        failureThreshold: positiveInt.max(1000).default(5).describe('Venue failures within the window that open the breaker'),
        windowMs: positiveInt.default(60_000).describe('Window in which failures are counted'),
        cooldownMs: positiveInt.default(30_000).describe('Time the breaker stays open before a probe'),
        maxCooldownMs: positiveInt.default(600_000).describe('Cooldown doubles after each failed probe, up to this'),
      })
      .strict()
      .prefault({})
      .describe('Circuit breaker shared by every worker: opens on repeated venue failures and pauses the execution queue'),
    algo: z
      .object({
        kind: z.enum(['none', 'twap', 'iceberg']).default('none').describe('Execution algorithm for intents above the threshold'),
        thresholdQuote: decimalString.default('1').describe('Notional (amount x price, in the quote currency) above which an intent is sliced'),
        slices: positiveInt.max(1000).default(5).describe('TWAP: number of child orders'),
        intervalMs: positiveInt.default(60_000).describe('TWAP: time between child orders'),
        visibleShare: z.number().gt(0).max(1).default(0.2).describe('Iceberg: share of the intent shown per child order'),
        pollMs: positiveInt.max(60_000).default(1000).describe('How often a running TWAP or iceberg looks at its children'),
      })
      .strict()
      .prefault({})
      .describe('TWAP and iceberg: child orders with their own deterministic client order ids'),
  })
  .strict();

const PaperSchema = z
  .object({
    balances: z
      .record(z.string().regex(/^[A-Z0-9]{1,20}$/, 'currency codes are upper case'), decimalString)
      .default({ BTC: '1', ETH: '20' })
      .describe('Starting cash of the paper account, per currency'),
    feeRate: decimalString.optional().describe("Taker fee as a fraction of notional; unset: each market's own fee"),
    slippageBps: z.number().min(0).max(1000).default(5).describe('Adverse slippage applied to market fills, in basis points'),
    limitFillShare: z.number().gt(0).max(1).default(0.1).describe("Largest share of a candle's volume one resting limit order can fill in that candle (the rest waits)"),
    marketsFile: z.string().default('data/markets.json').describe('ccxt-shaped market structures (precision, limits, fees) of the paper venue'),
  })
  .strict();

const ReplaySchema = z
  .object({
    files: z
      .array(z.string().min(1))
      .min(1)
      .default(['data/ohlcv'])
      .describe('CSV files or folders to replay; file names are SYMBOL_QUOTE-TIMEFRAME.csv'),
    timeframes: z.array(timeframe).default(['5m']).describe('Only replay files of these timeframes'),
    lastCandles: z.number().int().min(0).default(500).describe('Replay only the last N candles of each file (0 = all)'),
    speed: z.number().min(0).default(0).describe('0: as fast as the pipeline takes them; N: N times real time'),
    maxInFlight: positiveInt.default(64).describe('Candles queued but not yet decided, per run; bounds Redis memory during replay'),
  })
  .strict();

const FeedSchema = z
  .object({
    source: z.enum(['replay', 'ccxt']).default('replay').describe('replay: the CSV files of replay.files; ccxt: poll closed candles from the exchange (exchange.id)'),
    markets: z.array(symbol).default([]).describe('ccxt source: the markets to poll (they replace the replayed ones everywhere)'),
    timeframe: timeframe.default('5m').describe('ccxt source: the candle timeframe'),
    pollSeconds: z.number().positive().max(3600).default(10).describe('ccxt source: how often to ask for new candles'),
    history: z.number().int().min(0).max(1000).default(300).describe('ccxt source: candles fetched at the first start, so that bots have their windows'),
  })
  .strict();

const InstanceSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be kebab-case (a-z, 0-9, -), at most 63 characters').describe('Unique instance id'),
    bot: z.string().min(1).describe('Bot id (a file in bots/)'),
    markets: z.array(z.union([z.literal('*'), symbol])).min(1).default(['*']).describe('Markets it analyses; "*" means every replayed market'),
    params: z.record(z.string(), z.unknown()).default({}).describe("Parameters, checked against the bot's own schema"),
    weight: z.number().finite().min(0).max(100).default(1).describe('Vote weight in the coordinator'),
    enabled: z.boolean().default(true).describe('Disabled instances receive no jobs'),
  })
  .strict();

const BotsSchema = z
  .object({
    dir: z.string().default('bots').describe('Folder of bot files, discovered at start-up'),
    timeoutMs: positiveInt.max(60_000).default(2000).describe('Time budget of one analysis; past it the bot is stopped and its job fails'),
    memoryMb: positiveInt.min(16).max(4096).default(128).describe('Heap limit of the thread that runs bots; a bot past it is stopped'),
    windowSize: positiveInt.max(5000).default(300).describe('Most candles a bot can ask for'),
    quarantineAfter: positiveInt.max(1000).default(5).describe('Failures or timeouts in a row after which an instance is quarantined (no more jobs, an alert) until released'),
    trainingWindow: positiveInt.max(20_000).default(1000).describe('Most candles a learning bot may train on (each series keeps at least this many)'),
    trainTimeoutMs: positiveInt.max(600_000).default(30_000).describe("Time budget of one learning bot's training; past it the thread is stopped and the analysis fails"),
    instances: z
      .array(InstanceSchema)
      .default(defaultInstances)
      .describe('Bot instances: which bot, which markets, which parameters, which weight (default: 219 instances of every bundled bot over the bundled markets, see src/config/defaultInstances.ts)'),
  })
  .strict();

const fraction = (max = 1) => z.number().min(0).max(max);

const PolicyFields = {
  method: z
    .enum(['confidence-weighted', 'majority'])
    .default('confidence-weighted')
    .describe('confidence-weighted: sides compete on weight × confidence; majority: on weight alone'),
  minVoters: z.number().int().min(1).default(2).describe('Quorum: fewest bots that must give a valid signal'),
  minAgreement: fraction().default(0.5).describe('Quorum: least share of voting weight behind the winning side'),
  minConfidence: fraction().default(0.2).describe('Weighted confidence below which the decision is hold'),
};

const RegimeWeightsSchema = z
  .partialRecord(z.enum(['trending', 'ranging', 'volatile']), z.partialRecord(z.enum(BOT_FAMILIES), z.number().min(0).max(10)))
  .describe('Per regime (from regime bots), a multiplier of each bot family\'s weight; missing = 1');

const CoordinatorSchema = z
  .object({
    ...PolicyFields,
    markets: z
      .record(symbol, z.object(PolicyFields).partial().strict())
      .default({})
      .describe('Per-market overrides of method, minVoters, minAgreement and minConfidence'),
    limitOrderCandles: positiveInt.max(1000).default(3).describe('Candles a limit order (from grid and market-making bots) may rest before what is unfilled is cancelled'),
    trackRecord: z
      .object({
        metric: z.enum(['off', 'hit-rate', 'sharpe']).default('hit-rate').describe("What moves an instance's weight: its hit rate, its Sharpe ratio, or nothing"),
        horizonCandles: positiveInt.max(1000).default(12).describe('A vote is scored by the return over this many candles after it'),
        halfLife: z.number().positive().max(100_000).default(200).describe('Scored votes after which an old one counts half'),
        prior: z.number().min(0).max(10_000).default(20).describe('Neutral pseudo-votes: how slowly a young record moves the weight'),
      })
      .strict()
      .prefault({})
      .describe('Weights that follow each instance\'s rolling track record on each market'),
    keepDecisions: positiveInt
      .max(1_000_000)
      .default(5000)
      .describe(
        "Most decisions kept by key per market and timeframe, with their track-record marks and waiting notes: older ones are deleted as new ones come, so a long replay's Redis levels off (never fewer than a candle series holds; each also expires after 7 days; the decision log keeps its own 10,000)",
      ),
    regimeWeights: RegimeWeightsSchema.default({
      trending: { trend: 1.5, breakout: 1.25, 'mean-reversion': 0.5 },
      ranging: { trend: 0.5, breakout: 0.75, 'mean-reversion': 1.5 },
      volatile: { trend: 0.75, momentum: 0.75, 'mean-reversion': 0.75 },
    }),
  })
  .strict();

const RiskSchema = z
  .object({
    maxPositionFraction: z.number().gt(0).max(1).default(0.1).describe('Largest position in one market, as a fraction of equity (never above 0.25 whatever this says)'),
    maxTotalExposure: z.number().gt(0).max(1).default(0.5).describe('Largest sum of positions and pending entries per quote currency, as a fraction of equity'),
    maxOpenPositions: positiveInt.max(1000).default(5).describe('Most markets held at once (pending entries count)'),
    maxCorrelation: z.number().min(-1).max(1).default(0.85).describe('No new position whose return correlation with a held market is above this'),
    correlationLookback: positiveInt.min(10).max(5000).default(288).describe('Candles of returns behind correlation and VaR'),
    minCorrelationSamples: positiveInt.min(3).max(5000).default(50).describe('Fewest shared returns to judge a correlation by'),
    maxDrawdown: z.number().gt(0).max(1).default(0.2).describe('Drawdown from the equity peak at which entries halt; size shrinks linearly before it'),
    stopOutsBeforeCooldown: positiveInt.max(100).default(3).describe('Stop-outs in a row that start a cooldown'),
    cooldownCandles: z.number().int().min(0).max(100_000).default(24).describe('Candles without entries after that run of stop-outs'),
    dailyLossLimit: z.number().gt(0).max(1).default(0.05).describe("Loss since the day's first reading (UTC day of the candle) that stops entries for the day"),
    kellyFraction: z.number().gt(0).max(1).default(0.5).describe('Share of the full Kelly bet to take (0.5 = half Kelly)'),
    minEdgeSamples: z.number().min(0).max(100_000).default(10).describe("Fewest scored votes behind the ensemble's edge estimate; fewer and the size is zero"),
    volatilityTarget: fraction().default(0.01).describe('Per-candle ATR / price above which the size shrinks in proportion (0 = off)'),
    atrPeriod: positiveInt.max(500).default(14).describe('Candles of the ATR used for sizing and ATR stops'),
    maxVar: z.number().gt(0).max(1).default(0.03).describe('Largest one-candle historical VaR of the would-be portfolio, as a fraction of equity'),
    varConfidence: z.number().min(0.5).max(0.999).default(0.95).describe('Confidence level of VaR and CVaR'),
    monteCarloPaths: positiveInt.max(100_000).default(500).describe('Bootstrap paths of the Monte Carlo drawdown estimate'),
    monteCarloHorizon: positiveInt.max(100_000).default(288).describe('Candles per Monte Carlo path'),
    exits: z
      .object({
        stopLoss: fraction().default(0.05).describe('Exit when the close is this fraction below entry (0 = off)'),
        atrStop: z.number().min(0).max(100).default(3).describe('Exit when the close is this many ATRs (at entry) below entry (0 = off)'),
        trailingStop: fraction().default(0.05).describe('Exit when the close is this fraction below the highest close since entry (0 = off)'),
        takeProfit: z.number().min(0).max(100).default(0.1).describe('Exit when the close is this fraction above entry (0 = off)'),
        maxHoldCandles: z.number().int().min(0).max(1_000_000).default(288).describe('Exit after holding this many candles (0 = off)'),
      })
      .strict()
      .prefault({})
      .describe('The position monitor, checked on every candle of a held market, in every trading state'),
  })
  .strict();

const retention = z
  .object({
    age: positiveInt.describe('Seconds a finished job is kept'),
    count: positiveInt.describe('Most finished jobs kept per queue'),
  })
  .strict();

const QueuesSchema = z
  .object({
    keepCompleted: retention.default({ age: 3600, count: 2000 }).describe('Trimming of completed jobs'),
    keepFailed: retention.default({ age: 7 * 86400, count: 10000 }).describe('Trimming of failed jobs (kept longer, to be retried)'),
    attempts: positiveInt.max(50).default(5).describe('Attempts of a job that fails with a retryable error'),
    backoffMs: positiveInt.default(500).describe('First retry delay; doubles each attempt, with jitter'),
    lockDurationMs: positiveInt.min(1000).max(600_000).default(30_000).describe('A job whose worker stops renewing its lock (a crash) is taken back after this long'),
    stalledIntervalMs: positiveInt.min(1000).max(600_000).default(30_000).describe('How often workers look for such stalled jobs'),
    maxStalledCount: positiveInt.max(1000).default(20).describe('Times a job may be taken back from crashed workers before it fails (every processor is safe to re-run)'),
  })
  .strict();

const WorkersSchema = z
  .object({
    ticks: positiveInt.max(64).default(4).describe('Concurrent ticks jobs per worker process'),
    analysis: positiveInt.max(256).default(16).describe('Concurrent analysis jobs per worker process'),
    coordinator: positiveInt.max(64).default(8).describe('Concurrent coordinator jobs per worker process (I/O-bound; one market decides one candle at a time)'),
    execution: positiveInt.max(64).default(2).describe('Concurrent execution jobs per worker process'),
    notifications: positiveInt.max(64).default(4).describe('Concurrent notification jobs per worker process (deliveries wait on channels; a hanging one holds a slot until its timeout)'),
    optimize: positiveInt.max(32).default(1).describe('Concurrent optimisation backtests per worker process (CPU-bound: one per core to spare)'),
    botThreads: positiveInt.max(32).default(2).describe('Threads that run bot code in each analysis worker process'),
  })
  .strict();

const priority = z.enum(['info', 'warning', 'error', 'critical']);
const envName = (fallback: string, what: string) =>
  z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name, e.g. "QUORUM_TELEGRAM_BOT_TOKEN"')
    .default(fallback)
    .describe(`Name of the environment variable holding ${what} (secrets are read from the environment only)`);
const channelBase = {
  enabled: z.boolean().default(false).describe('Send notifications to this channel'),
  minPriority: priority.default('info').describe('Least priority sent to this channel (info, warning, error, critical)'),
};

const NotifySchema = z
  .object({
    dedupeWindowSeconds: z.number().int().min(0).max(7 * 86_400).default(300).describe('A notification with the same event and dedupe key as one sent this recently is dropped (0 = off)'),
    digest: z
      .object({
        priorities: z.array(priority).default(['info']).describe('Priorities gathered into digests instead of being sent one by one'),
        everySeconds: positiveInt.max(7 * 86_400).default(900).describe('How often the digest is sent (when it holds anything)'),
        maxItems: positiveInt.max(100_000).default(1000).describe('Most events kept for one digest (the oldest go first)'),
      })
      .strict()
      .prefault({})
      .describe('Low-priority events batched into one message per channel'),
    delivery: z
      .object({
        attempts: positiveInt.max(100).default(8).describe('Attempts of one delivery to one channel before it fails (retryable errors only)'),
        backoffMs: positiveInt.default(2000).describe('First retry delay of a delivery; doubles each attempt, with jitter'),
        timeoutMs: positiveInt.max(120_000).default(10_000).describe('A channel that has not answered in this long counts as down for that attempt'),
      })
      .strict()
      .prefault({})
      .describe('Delivery: one job per channel, retried on its own'),
    monitor: z
      .object({
        everySeconds: positiveInt.max(3600).default(60).describe('How often drawdown and workers are checked'),
        drawdownThresholds: z.array(z.number().gt(0).max(1)).max(20).default([0.05, 0.1, 0.15]).describe('Drawdowns from the equity peak that are announced when crossed'),
        workerLostAfterSeconds: positiveInt.max(3600).default(60).describe('A queue that once had a worker and has had none for this long is announced (worker.lost)'),
        dailySummaryHourUtc: z.number().int().min(0).max(23).default(0).describe('UTC hour of the daily summary'),
      })
      .strict()
      .prefault({})
      .describe('Scheduled checks on the notifications queue: drawdown thresholds, lost workers, the daily summary'),
    telegram: z
      .object({
        ...channelBase,
        // A numeric id from an environment variable arrives as a number (JSON): taken as its digits.
        chatId: z
          .preprocess((v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : v), z.string().regex(/^-?[0-9]+$|^@[A-Za-z0-9_]{5,}$/, 'must be a numeric chat id or @channelname'))
          .optional()
          .describe('Chat to post to (a numeric id or @channelname)'),
        apiBaseUrl: z.string().url().default('https://api.telegram.org').describe('Bot API base URL'),
        botTokenEnv: envName('QUORUM_TELEGRAM_BOT_TOKEN', 'the bot token'),
      })
      .strict()
      .prefault({})
      .describe('Telegram (Bot API sendMessage)'),
    discord: z
      .object({ ...channelBase, webhookUrlEnv: envName('QUORUM_DISCORD_WEBHOOK_URL', 'the webhook URL (it contains its token)') })
      .strict()
      .prefault({})
      .describe('Discord webhook'),
    slack: z
      .object({ ...channelBase, webhookUrlEnv: envName('QUORUM_SLACK_WEBHOOK_URL', 'the incoming-webhook URL (it contains its token)') })
      .strict()
      .prefault({})
      .describe('Slack incoming webhook'),
    webhook: z
      .object({
        ...channelBase,
        urlEnv: envName('QUORUM_WEBHOOK_URL', 'the URL to POST to'),
        secretEnv: envName('QUORUM_WEBHOOK_SECRET', 'the HMAC-SHA256 key of X-Quorum-Signature'),
      })
      .strict()
      .prefault({})
      .describe('Generic webhook: a JSON POST signed with X-Quorum-Signature: sha256=<HMAC of the raw body>'),
    email: z
      .object({
        ...channelBase,
        host: z.string().min(1).optional().describe('SMTP server'),
        port: z.number().int().min(1).max(65535).default(587).describe('SMTP port'),
        secure: z.boolean().default(false).describe('TLS from the start (port 465); else STARTTLS when the server offers it'),
        user: z.string().min(1).optional().describe('SMTP user, when the server needs a login'),
        passwordEnv: envName('QUORUM_SMTP_PASSWORD', 'the SMTP password'),
        from: z.string().min(3).optional().describe('Sender address'),
        to: z.array(z.string().min(3)).default([]).describe('Recipients'),
      })
      .strict()
      .prefault({})
      .describe('Email over SMTP (nodemailer)'),
  })
  .strict()
  .superRefine((n, ctx) => {
    if (n.telegram.enabled && !n.telegram.chatId) ctx.addIssue({ code: 'custom', path: ['telegram', 'chatId'], message: 'an enabled Telegram channel needs a chat id' });
    if (n.email.enabled && !n.email.host) ctx.addIssue({ code: 'custom', path: ['email', 'host'], message: 'an enabled email channel needs an SMTP host' });
    if (n.email.enabled && !n.email.from) ctx.addIssue({ code: 'custom', path: ['email', 'from'], message: 'an enabled email channel needs a sender address' });
    if (n.email.enabled && n.email.to.length === 0) ctx.addIssue({ code: 'custom', path: ['email', 'to'], message: 'an enabled email channel needs at least one recipient' });
  });

export const ConfigSchema = z
  .object({
    redis: RedisSchema.prefault({}).describe('Redis connection and key namespace'),
    log: LogSchema.prefault({}).describe('Logging'),
    server: ServerSchema.prefault({}).describe('HTTP server: Bull Board, health'),
    exchange: ExchangeSchema.prefault({}).describe('The exchange account orders go to'),
    paper: PaperSchema.prefault({}).describe('The paper exchange'),
    execution: ExecutionSchema.prefault({}).describe('Order execution: idempotency, retries, breaker, reconciliation, algorithms'),
    replay: ReplaySchema.prefault({}).describe('Replay of CSV candles'),
    feed: FeedSchema.prefault({}).describe('Where candles come from'),
    bots: BotsSchema.prefault({}).describe('Bots and their instances'),
    coordinator: CoordinatorSchema.prefault({}).describe('Aggregation of votes'),
    risk: RiskSchema.prefault({}).describe('Risk gates'),
    queues: QueuesSchema.prefault({}).describe('Job options and retention'),
    workers: WorkersSchema.prefault({}).describe('Concurrency of each worker process'),
    notify: NotifySchema.prefault({}).describe('Notifications: channels, priorities, duplicate suppression, digests, scheduled checks'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.feed.source === 'ccxt' && config.feed.markets.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['feed', 'markets'], message: 'the ccxt feed needs at least one market, e.g. ["ETH/BTC"]' });
    }
    if (config.feed.source === 'ccxt' && config.exchange.id === 'paper') {
      ctx.addIssue({ code: 'custom', path: ['exchange', 'id'], message: 'the ccxt feed needs a ccxt exchange id (QUORUM_EXCHANGE), e.g. binance' });
    }
    const seen = new Set<string>();
    config.bots.instances.forEach((instance, i) => {
      if (seen.has(instance.id)) {
        ctx.addIssue({ code: 'custom', path: ['bots', 'instances', i, 'id'], message: `duplicate instance id "${instance.id}"` });
      }
      seen.add(instance.id);
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type BotInstanceConfig = Config['bots']['instances'][number];
