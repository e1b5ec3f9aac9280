import { readFileSync, writeFileSync } from 'node:fs';
import { loadMarketRules } from '../core/marketRulesSchema.ts';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { maskSecrets } from '../config/load.ts';
import { ConfigSchema, type Config } from '../config/schema.ts';
import { venueStartProblems } from '../main/venue.ts';
import { StartupError } from '../main/startupError.ts';
import { readTradesFile } from '../feed/trades.ts';
import { candlesToCsv, TradeCandleAggregator } from '../feed/tradesToCandles.ts';
import { allQueueNames, executionQueueName, normaliseQueueName } from '../../queues/names.ts';
import { runReplay, summarize, formatSummary, waitForDrain } from '../main/pipeline.ts';
import { loadBots, startWorkers } from '../main/workers.ts';
import { resolveReplayFiles } from '../feed/replayFiles.ts';
import { isTimeframe } from '../core/timeframe.ts';
import { EXIT, Lifecycle, connect, failStartup, loadConfigOrExit, loggerFor, type GlobalOptions } from './bootstrap.ts';
import { seriesOf, type Context } from '../main/context.ts';
import { riskReport, setTradingState } from '../main/riskReport.ts';
import { runCcxtFeed } from '../main/liveFeed.ts';
import { breakerReport, resetBreaker } from '../main/breakerControl.ts';
import { serverDepsOf } from '../main/serverDeps.ts';
import { UnknownInstanceError, disableInstance, releaseInstance } from '../main/botControl.ts';
import { createRedis, deleteDeploymentKeys, isReachable } from '../infra/redis.ts';
import { keyspace } from '../infra/keys.ts';
import { BotHealthStore } from '../store/statsStore.ts';
import { discoverBots } from '../registry/discover.ts';
import { AuditLog } from '../store/auditLog.ts';
import { resolveChannels } from '../notify/settings.ts';
import { compileThreadEntry } from '../registry/runner.ts';
import { addBacktestCommand } from './backtestCommand.ts';
import { addOptimizeCommand } from './optimizeCommand.ts';
import { livePerformance } from '../main/livePerformance.ts';

const program = new Command('quorum')
  .description('Quorum: many bots vote, a coordinator decides, risk sizes, execution trades (paper or ccxt).')
  .option('-c, --config <file>', 'config file (YAML or JSON); default: $QUORUM_CONFIG or ./quorum.config.yaml')
  .showHelpAfterError();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();

/** Before anything connects: live trading needs live mode, keys in the environment and --confirm-live. */
async function refuseUnsafeVenue(config: Config, confirmLive: boolean | undefined, queues: string[] = allQueueNames(config.exchange.id)): Promise<void> {
  const trading = queues.map(normaliseQueueName).includes(executionQueueName(config.exchange.id));
  const problems = await venueStartProblems(config, { confirmLive, trading });
  if (problems.length > 0) throw new StartupError(`refusing to start ${config.exchange.mode} trading on ${config.exchange.id}:`, problems);
}

/**
 * The HTTP server: dashboard, API, /metrics and Bull Board. Loaded only by the commands that
 * serve it (express, Bull Board and prom-client are tens of MB a worker process does not need).
 */
async function serveHttp(ctx: Context, life: Lifecycle): Promise<void> {
  const { startServer } = await import('../api/server.ts');
  const { server: settings } = ctx.config;
  const server = await startServer({ ...serverDepsOf(ctx), host: settings.host, port: settings.port, token: settings.token });
  life.add('server', () => server.close());
  ctx.log.info(`dashboard: ${server.url}/   Bull Board: ${server.url}/admin/queues`);
}

program
  .command('start')
  .description('the whole system on one machine: Redis, server, every worker, and a replay of the bundled data in paper mode')
  .option('--exit', 'exit after the summary instead of serving until interrupted')
  .option('--summary-json <file>', 'also write the summary as JSON to this file')
  .option('--fresh', 'paper mode only: delete this deployment\'s keys (under its prefix) before starting')
  .option('--no-server', 'do not start the HTTP server')
  .option('--confirm-live', 'required, with live mode and API keys, to trade real money')
  .action(async (opts: { exit?: boolean; summaryJson?: string; fresh?: boolean; server: boolean; confirmLive?: boolean }) => {
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded);
    const life = new Lifecycle(log);
    try {
      await refuseUnsafeVenue(loaded.config, opts.confirmLive);
      const { ctx, endpoint } = await connect(loaded, log, life);
      if (opts.fresh) await wipe(ctx);
      const startedAt = Date.now();
      const workers = await startWorkers(ctx, allQueueNames(ctx.account), { confirmLive: opts.confirmLive });
      life.add('workers', () => workers.close());
      if (opts.server) {
        await serveHttp(ctx, life);
      }
      const live = loaded.config.feed.source === 'ccxt';
      if (live) log.info({ exchange: loaded.config.exchange.id, markets: loaded.config.feed.markets, timeframe: loaded.config.feed.timeframe, mode: loaded.config.exchange.mode }, opts.exit ? 'polling the exchange once for candles' : 'polling the exchange for candles until stopped');
      else log.info({ redis: endpoint.origin, files: ctx.replayFiles.length, lastCandles: loaded.config.replay.lastCandles }, 'replaying bundled market data (paper mode)');
      const report = live ? await runCcxtFeed(ctx, { signal: life.abort.signal, once: opts.exit }) : await runReplay(ctx, { signal: life.abort.signal });
      const drained = await waitForDrain(ctx, { timeoutMs: 10 * 60_000, signal: life.abort.signal });
      if (!drained && !life.abort.signal.aborted) log.warn('the pipeline did not drain within 10 minutes; the summary is partial');
      const summary = { ...(await summarize(ctx, startedAt)), replay: report };
      process.stdout.write(`${formatSummary(summary)}\n`);
      if (opts.summaryJson) writeFileSync(resolve(opts.summaryJson), `${JSON.stringify(summary, null, 2)}\n`);
      if (opts.exit || life.abort.signal.aborted) {
        await life.shutdown();
        process.exit(EXIT.ok);
      }
      log.info('replay done; still serving (Ctrl-C to stop)');
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('worker')
  .description('serve some queues in this process; run as many as you like, on any hosts sharing one Redis')
  .option('-q, --queues <names>', 'comma-separated queue names (ticks, analysis, coordinator, execution-<account>, notifications)', 'all')
  .option('--confirm-live', 'required, with live mode and API keys, to trade real money')
  .action(async (opts: { queues: string; confirmLive?: boolean }) => {
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded, 'quorum-worker');
    const life = new Lifecycle(log);
    try {
      const names = opts.queues === 'all' ? allQueueNames(loaded.config.exchange.id) : opts.queues.split(',').map((s) => s.trim()).filter(Boolean);
      await refuseUnsafeVenue(loaded.config, opts.confirmLive, names);
      const { ctx } = await connect(loaded, log, life);
      const workers = await startWorkers(ctx, names, { confirmLive: opts.confirmLive });
      life.add('workers', () => workers.close());
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('server')
  .description('the HTTP server: Bull Board at /admin/queues, /healthz, /readyz')
  .action(async () => {
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded, 'quorum-server');
    const life = new Lifecycle(log);
    try {
      const { ctx } = await connect(loaded, log, life);
      await serveHttp(ctx, life);
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('feed')
  .description('candles into the ticks queue: a replay of the configured CSV files, or (feed.source ccxt) polling the exchange until stopped')
  .option('--wait', 'after the replay (or the one poll of --once), wait until every queue is drained and print the summary')
  .option('--once', 'ccxt source: poll once and stop')
  .action(async (opts: { wait?: boolean; once?: boolean }) => {
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded, 'quorum-feed');
    const life = new Lifecycle(log);
    try {
      const { ctx } = await connect(loaded, log, life);
      const startedAt = Date.now();
      const report = loaded.config.feed.source === 'ccxt' ? await runCcxtFeed(ctx, { signal: life.abort.signal, once: opts.once }) : await runReplay(ctx, { signal: life.abort.signal });
      log.info(report, loaded.config.feed.source === 'ccxt' ? 'feed stopped' : 'replay finished');
      let drained = true;
      if (opts.wait) {
        drained = await waitForDrain(ctx, { timeoutMs: 30 * 60_000, signal: life.abort.signal });
        if (!drained) log.error('the queues did not drain within 30 minutes: is a worker serving every queue?');
        process.stdout.write(`${formatSummary(await summarize(ctx, startedAt))}\n`);
      }
      await life.shutdown();
      process.exit(drained ? EXIT.ok : EXIT.failure);
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('bots')
  .description('list every bot file in bots/ (loaded, or failed and why) and every configured instance with its status; or disable / release one instance')
  .argument('[action]', 'list | disable | release', 'list')
  .argument('[instance]', 'instance id, for disable and release')
  .option('--reason <text>', 'why, for disable (recorded)')
  .option('--json', 'machine-readable output')
  .action(async (action: string, instance: string | undefined, opts: { json?: boolean; reason?: string }) => {
    const loaded = loadConfigOrExit(globals());
    if (action === 'disable' || action === 'release') {
      if (!instance) {
        process.stderr.write(`quorum bots ${action} needs an instance id (see quorum bots)\n`);
        process.exit(EXIT.config);
      }
      if (action === 'disable' && !opts.reason?.trim()) {
        process.stderr.write('quorum bots disable needs --reason "<why>"\n');
        process.exit(EXIT.config);
      }
      const log = loggerFor(loaded);
      const life = new Lifecycle(log);
      try {
        const { ctx } = await connect(loaded, log, life);
        if (action === 'disable') await disableInstance(ctx, instance!, opts.reason!.trim(), 'cli');
        const released = action === 'release' ? await releaseInstance(ctx, instance!, 'cli') : undefined;
        process.stdout.write(action === 'disable' ? `${instance} disabled\n` : `${instance} released${released?.wasQuarantined ? ' from quarantine' : released?.wasDisabled ? '' : ' (it was not suspended)'}\n`);
        await life.shutdown();
        process.exit(EXIT.ok);
      } catch (error) {
        if (error instanceof UnknownInstanceError) {
          process.stderr.write(`${error.message}\n`);
          await life.shutdown();
          process.exit(EXIT.config);
        }
        await failStartup(error, life);
      }
      return;
    }
    if (action !== 'list') {
      process.stderr.write(`unknown action "${action}": use list, disable or release\n`);
      process.exit(EXIT.config);
    }
    const cwd = process.cwd();
    const markets = loadMarketRules(JSON.parse(readFileSync(resolve(cwd, loaded.config.paper.marketsFile), 'utf8')));
    const setup = await loadBots({ config: loaded.config, cwd, markets, series: seriesOf(loaded.config, resolveReplayFiles(loaded.config.replay.files, { cwd, timeframes: loaded.config.replay.timeframes })) });
    // Runtime status (quarantine, disabled, health) lives in Redis: shown when a configured or local Redis answers.
    const redisUrl = loaded.config.redis.url ?? 'redis://127.0.0.1:6379';
    let runtime: Awaited<ReturnType<typeof runtimeStatus>> | undefined;
    if (await isReachable(redisUrl)) runtime = await runtimeStatus(redisUrl, loaded.config.redis.prefix);
    const out = {
      dir: setup.report.dir,
      files: setup.report.files.length,
      loaded: setup.report.loaded.map((b) => ({ id: b.id, version: b.version, family: b.definition.family, role: b.definition.role ?? 'vote', file: b.file, description: b.description })),
      failed: setup.report.failed,
      instances: setup.instances.map((i) => ({
        id: i.id,
        bot: i.botId,
        markets: i.markets.length,
        weight: i.weight,
        warmup: i.warmup,
        enabled: i.enabled,
        status: !i.enabled ? 'disabled in config' : runtime === undefined ? 'unknown (Redis not reachable)' : runtime.quarantined[i.id] ? 'quarantined' : runtime.disabled[i.id] ? 'disabled' : 'running',
        suspension: runtime?.quarantined[i.id] ?? runtime?.disabled[i.id],
        params: i.params,
      })),
      problems: setup.problems,
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      const lines = [`${out.files} bot file(s) in ${out.dir}: ${out.loaded.length} loaded, ${out.failed.length} failed`];
      for (const b of out.loaded) lines.push(`  ok      ${b.id}@${b.version} [${b.family}${b.role === 'vote' ? '' : `, ${b.role}`}]  ${b.description}`);
      for (const f of out.failed) lines.push(`  FAILED  ${f.file}: ${f.error}`);
      const count = (status: string) => out.instances.filter((i) => i.status === status).length;
      lines.push(`${out.instances.length} instance(s): ${count('running')} running, ${count('quarantined')} quarantined, ${count('disabled')} disabled, ${count('disabled in config')} disabled in config`);
      for (const i of out.instances) {
        const why = i.suspension ? ` (${i.suspension.reason})` : '';
        lines.push(`  ${i.status}${why}: ${i.id} (${i.bot}) on ${i.markets} market(s), weight ${i.weight}, warm-up ${i.warmup}, params ${JSON.stringify(i.params)}`);
      }
      for (const p of out.problems) lines.push(`  PROBLEM ${p}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    process.exit(out.failed.length > 0 || out.problems.length > 0 ? EXIT.failure : EXIT.ok);
  });

/** Quarantined and disabled instances, read without building a whole context. */
async function runtimeStatus(url: string, prefix: string) {
  const redis = createRedis(url, { usage: 'client' });
  try {
    return await new BotHealthStore(redis, keyspace(prefix)).suspended();
  } finally {
    redis.disconnect();
  }
}

program
  .command('candles')
  .description('build candles from raw trades and print them as CSV (timestamp,open,high,low,close,volume)')
  .requiredOption('--from-trades <csv>', 'trades CSV: timestamp,id,side,price,amount,cost')
  .addOption(new Option('--timeframe <tf>', 'candle timeframe, e.g. 1m, 5m, 1h').default('1m'))
  .action((opts: { fromTrades: string; timeframe: string }) => {
    if (!isTimeframe(opts.timeframe)) {
      process.stderr.write(`--timeframe "${opts.timeframe}" is not a timeframe like 1m, 5m, 1h\n`);
      process.exit(EXIT.config);
    }
    let parsed;
    try {
      parsed = readTradesFile(resolve(opts.fromTrades));
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(EXIT.failure);
    }
    // The same incremental aggregator a live trades stream uses.
    const aggregator = new TradeCandleAggregator(opts.timeframe);
    const candles = parsed.trades.flatMap((t) => aggregator.push(t));
    const last = aggregator.flush();
    if (last) candles.push(last);
    process.stdout.write(candlesToCsv(candles));
    for (const r of parsed.rejected) process.stderr.write(`rejected line ${r.line}: ${r.reason} (${r.detail})\n`);
    if (aggregator.lateTrades > 0) process.stderr.write(`${aggregator.lateTrades} late trade(s) ignored\n`);
  });

const STATE_OF = { halt: 'HALTED', reduce: 'REDUCING', resume: 'ACTIVE' } as const;

program
  .command('trading')
  .description('the kill switch: show the trading state, or halt (no new entries), reduce (only risk-reducing orders) or resume; exits run in every state')
  .argument('[action]', 'status | halt | reduce | resume', 'status')
  .option('--reason <text>', 'why (recorded with the change and sent to the notification channels); required to change the state')
  .option('--json', 'machine-readable output')
  .action(async (action: string, opts: { reason?: string; json?: boolean }) => {
    const loaded = loadConfigOrExit(globals());
    if (action !== 'status' && !(action in STATE_OF)) {
      process.stderr.write(`unknown action "${action}": use status, halt, reduce or resume\n`);
      process.exit(EXIT.config);
    }
    if (action !== 'status' && !opts.reason?.trim()) {
      process.stderr.write(`quorum trading ${action} needs --reason "<why>": it is recorded and sent to the operators\n`);
      process.exit(EXIT.config);
    }
    const log = loggerFor(loaded);
    const life = new Lifecycle(log);
    try {
      const { ctx } = await connect(loaded, log, life);
      const current = action === 'status' ? await ctx.risk.tradingState() : await setTradingState(ctx, STATE_OF[action as keyof typeof STATE_OF], opts.reason!.trim(), 'cli');
      process.stdout.write(opts.json ? `${JSON.stringify(current)}\n` : `trading ${current.state}: ${current.reason} (by ${current.by}${current.at ? `, ${new Date(current.at).toISOString()}` : ''})\n`);
      await life.shutdown();
      process.exit(EXIT.ok);
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('risk')
  .description("the portfolio's risk now: equity, drawdown, exposure, VaR, CVaR and Monte Carlo drawdown per quote currency, and the trading state")
  .action(async () => {
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded);
    const life = new Lifecycle(log);
    try {
      const { ctx } = await connect(loaded, log, life);
      process.stdout.write(`${JSON.stringify(await riskReport(ctx), null, 2)}\n`);
      await life.shutdown();
      process.exit(EXIT.ok);
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('performance')
  .description('live performance of the running deployment: metrics per currency, attribution per bot instance, per-market breakdown and round trips (JSON)')
  .option('--trades <n>', 'most recent round trips to include (default 50; 0 = all)', '50')
  .action(async (opts: { trades: string }) => {
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded);
    const life = new Lifecycle(log);
    try {
      const limit = Number(opts.trades);
      if (!Number.isInteger(limit) || limit < 0) throw new StartupError(`--trades "${opts.trades}" must be a whole number (0 = all)`);
      const { ctx } = await connect(loaded, log, life);
      const report = await livePerformance(ctx);
      if (limit > 0) report.trades = report.trades.slice(-limit);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      await life.shutdown();
      process.exit(EXIT.ok);
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('breaker')
  .description("the exchange account's circuit breaker: status, or reset (close it by hand and resume the execution queue)")
  .argument('[action]', 'status | reset', 'status')
  .option('--reason <text>', 'why, for reset (recorded and sent to the notification channels)')
  .option('--json', 'machine-readable output')
  .action(async (action: string, opts: { reason?: string; json?: boolean }) => {
    if (action !== 'status' && action !== 'reset') {
      process.stderr.write(`unknown action "${action}": use status or reset\n`);
      process.exit(EXIT.config);
    }
    if (action === 'reset' && !opts.reason?.trim()) {
      process.stderr.write('breaker reset needs --reason "<why>" (it is recorded in the audit log)\n');
      process.exit(EXIT.config);
    }
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded);
    const life = new Lifecycle(log);
    try {
      const { ctx } = await connect(loaded, log, life);
      const report = action === 'reset' ? await resetBreaker(ctx, opts.reason!.trim()) : await breakerReport(ctx);
      const { state } = report;
      const text = `breaker of ${report.account}: ${state.status}${state.reason ? ` (${state.reason})` : ''}; execution queue ${report.queuePaused ? 'paused' : 'running'}${report.nextProbeAt ? `; next probe ${new Date(report.nextProbeAt).toISOString()}` : ''}`;
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${text}\n`);
      await life.shutdown();
      process.exit(EXIT.ok);
    } catch (error) {
      await failStartup(error, life);
    }
  });

addBacktestCommand(program, globals);
addOptimizeCommand(program, globals);

const auditCommand = program.command('audit').description('the hash-chained audit log of orders, fills, breaker changes and reconciliations');
auditCommand
  .command('verify')
  .description('recompute the hash chain; exits 1 at the first entry that was changed, removed or reordered')
  .option('--json', 'machine-readable output')
  .action(async (opts: { json?: boolean }) => {
    const loaded = loadConfigOrExit(globals());
    const log = loggerFor(loaded);
    const life = new Lifecycle(log);
    try {
      const { ctx } = await connect(loaded, log, life);
      const result = AuditLog.verify(await new AuditLog(ctx.redis, ctx.keys).entries());
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : result.ok ? `audit log intact: ${result.count} entries\n` : `audit log broken at entry ${result.seq}: ${result.problem}\n`);
      await life.shutdown();
      process.exit(result.ok ? EXIT.ok : EXIT.failure);
    } catch (error) {
      await failStartup(error, life);
    }
  });

program
  .command('compile')
  .description('compile the bots and the bot-thread entry ahead of time (the CLI compiles itself on start); for read-only installs such as the Docker image')
  .action(async () => {
    const loaded = loadConfigOrExit(globals());
    const report = await discoverBots(resolve(process.cwd(), loaded.config.bots.dir));
    await compileThreadEntry();
    process.stdout.write(`compiled ${report.loaded.length} bot(s) and the bot-thread entry${report.failed.length > 0 ? `; ${report.failed.length} failed (see quorum bots)` : ''}\n`);
    process.exit(report.failed.length > 0 ? EXIT.failure : EXIT.ok);
  });

const configCommand = program.command('config').description('configuration');
configCommand
  .command('check')
  .description('validate the configuration and print the effective values, secrets masked')
  .option('--json', 'machine-readable output')
  .option('--explain', 'print every field with its description')
  .action(async (opts: { json?: boolean; explain?: boolean }) => {
    const loaded = loadConfigOrExit(globals());
    const masked = maskSecrets(loaded.config);
    // Enabled notification channels need their secrets in this environment: say which are missing.
    const notifyProblems = resolveChannels(loaded.config.notify, process.env).problems;
    if (notifyProblems.length > 0) {
      process.stderr.write(`notification channels are misconfigured\n${notifyProblems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exit(EXIT.config);
    }
    // Bot instances, checked as start-up checks them (known bot, parameters against its schema,
    // markets), so that a bad one is found here rather than when the deployment starts.
    const instanceProblems = await botInstanceProblems(loaded.config);
    if (instanceProblems.length > 0) {
      process.stderr.write(`bot instances are misconfigured${loaded.file ? ` in ${loaded.file}` : ''} (${instanceProblems.length} problem${instanceProblems.length === 1 ? '' : 's'})\n${instanceProblems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exit(EXIT.config);
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ok: true, file: loaded.file ?? null, sources: loaded.sources, config: masked }, null, 2)}\n`);
    } else {
      process.stdout.write(`config OK${loaded.file ? ` (${loaded.file})` : ' (defaults and environment)'}\n`);
      if (opts.explain) process.stdout.write(`${explain(ConfigSchema, masked).join('\n')}\n`);
      else process.stdout.write(`${JSON.stringify(masked, null, 2)}\n`);
    }
  });

/** What start-up would refuse in `bots.instances` (and in the replay files they are matched with). */
async function botInstanceProblems(config: Config): Promise<string[]> {
  const cwd = process.cwd();
  let files;
  try {
    files = resolveReplayFiles(config.replay.files, { cwd, timeframes: config.replay.timeframes });
  } catch (error) {
    return [`replay.files: ${error instanceof Error ? error.message : String(error)}`];
  }
  // As the context does: paper mode checks markets against markets.json; a real venue's are known only once connected.
  const markets = config.exchange.mode === 'paper' ? loadMarketRules(JSON.parse(readFileSync(resolve(cwd, config.paper.marketsFile), 'utf8'))) : {};
  const setup = await loadBots({ config, cwd, markets, series: seriesOf(config, files) });
  return setup.problems;
}

/** Deletes every key under this deployment's hash-tagged prefix; refuses outside paper mode. */
async function wipe(ctx: Context): Promise<void> {
  if (ctx.config.exchange.mode !== 'paper') throw new Error('--fresh is only allowed in paper mode');
  const deleted = await deleteDeploymentKeys(ctx.redis, ctx.config.redis.prefix);
  await ctx.ledger.ensureAccount(ctx.config.paper.balances);
  ctx.log.info({ deleted, prefix: ctx.keys.root }, 'fresh start: removed the previous paper run');
}

/** "path = value  # description" for every leaf of the schema. */
function explain(schema: unknown, value: unknown, path = ''): string[] {
  const def = (schema as { def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown>; in?: unknown } }).def;
  let inner = schema as { description?: string; def?: unknown; shape?: Record<string, unknown> };
  let description = inner.description;
  let d = def;
  while (d && (d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'pipe')) {
    inner = (d.type === 'pipe' ? d.in : d.innerType) as typeof inner;
    description ??= inner.description;
    d = (inner as { def?: typeof def }).def;
  }
  if (d?.type === 'object' && inner.shape) {
    return Object.entries(inner.shape).flatMap(([k, s]) => explain(s, (value as Record<string, unknown> | undefined)?.[k], path ? `${path}.${k}` : k));
  }
  return [`${path} = ${JSON.stringify(value)}${description ? `  # ${description}` : ''}`];
}

await program.parseAsync(process.argv);
