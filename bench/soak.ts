/**
 * The long form of test/chaos.e2e.test.ts (`npm run soak -- --rounds 12 --minutes 30`): a long
 * replay in rounds, each a further slice of real candles, through `quorum worker` processes that
 * are killed with SIGKILL in the middle of jobs all the while, on a private redis-server with
 * append-only persistence that is killed and restarted in every other round. After each round it
 * checks the invariants (every candle decided exactly once, no order twice, nothing lost, ledger
 * = initial balances + fills) and prints Redis memory (INFO used_memory), key count and the
 * processes' resident memory, so that one can see whether they level off.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allQueueNames } from '../queues/names.ts';
import { mergeCandleFiles } from '../src/feed/replay.ts';
import { resolveReplayFiles } from '../src/feed/replayFiles.ts';
import { createLogger } from '../src/infra/logger.ts';
import { createRedis } from '../src/infra/redis.ts';
import { createContext } from '../src/main/context.ts';
import { runReplay, waitForDrain } from '../src/main/pipeline.ts';
import { FAST_RECOVERY, PersistentRedis, ROOT, WorkerFleet, deployment, keepKilling, procRssMb, spawnWorker } from '../test/helpers/chaos.ts';
import { checkPaperRun, type ReplayedSteps } from '../test/helpers/invariants.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    minutes: { type: 'string', default: '0' },
    'candles-per-round': { type: 'string', default: '300' },
    markets: { type: 'string', default: 'ETH_BTC,ADA_BTC,LTC_BTC' },
    workers: { type: 'string', default: '2' },
    'kill-every-ms': { type: 'string', default: '3000' },
    'keep-completed': { type: 'string', default: '300' },
    'keep-decisions': { type: 'string', default: '230' },
  },
});
const rounds = Number(args.rounds);
const minutes = Number(args.minutes);
const perRound = Number(args['candles-per-round']);
const markets = args.markets.split(',');
if (!(rounds > 0 && perRound > 0 && minutes >= 0)) throw new Error('--rounds and --candles-per-round must be positive, --minutes ≥ 0');

// One slice of each market's real candles per round, written as replay files of their own.
const sources = markets.map((m) => join(ROOT, 'data/ohlcv', `${m}-5m.csv`));
const lines = sources.map((f) => readFileSync(f, 'utf8').trim().split('\n'));
const available = Math.min(...lines.map((l) => l.length - 1));
const maxRounds = Math.floor(available / perRound);
const plannedRounds = Math.min(rounds, maxRounds);
const work = mkdtempSync(join(tmpdir(), 'quorum-soak-'));
function roundFiles(round: number): string[] {
  const dir = join(work, `round-${round}`);
  mkdirSync(dir, { recursive: true });
  return markets.map((m, i) => {
    const [header, ...rows] = lines[i]!;
    const file = join(dir, `${m}-5m.csv`);
    writeFileSync(file, `${[header, ...rows.slice(round * perRound, (round + 1) * perRound)].join('\n')}\n`);
    return file;
  });
}

const OVERRIDES = {
  'replay.files': sources,
  'replay.lastCandles': 0,
  'bots.dir': 'test/fixtures/pipeline-bots',
  'bots.instances': [
    { id: 'mom', bot: 'momentum' },
    { id: 'mom-b', bot: 'momentum', params: { confidence: 0.6 } },
  ],
  // Small windows keep each candle series (and so the per-candle keys) at a cap of 230, which a
  // short soak passes early: the later rounds then show whether Redis levels off.
  'bots.windowSize': 30,
  'bots.trainingWindow': 30,
  'risk.correlationLookback': 10,
  'coordinator.minVoters': 1,
  'coordinator.trackRecord.horizonCandles': 1,
  'risk.volatilityTarget': 0,
  'risk.maxCorrelation': 1,
  'risk.maxVar': 1,
  'risk.minEdgeSamples': 1,
  // Retention is what bounds the queues' memory; smaller than production's 2000 so that a short
  // soak reaches it early and the second half shows whether memory levels off.
  'queues.keepCompleted': { age: 3600, count: Number(args['keep-completed']) },
  // Likewise the per-candle keys (decisions, track-record marks, waiting notes), smaller than
  // production's 5000 per market; never below the candle series' cap (230 here) whatever this says.
  'coordinator.keepDecisions': Number(args['keep-decisions']),
  ...FAST_RECOVERY,
};

/** Keys counted by shape (timestamps and numbers as #), most numerous first: what grows. */
async function keyCensus(redis: ReturnType<typeof createRedis>): Promise<string[]> {
  const counts = new Map<string, number>();
  for (const key of await redis.keys('*')) {
    const shape = key.replace(/^\{[^}]*\}/, '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/\d+/g, '#');
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([shape, n]) => `${shape} ${n}`);
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const redis = await PersistentRedis.start();
  const d = deployment(redis.url, 'soak', OVERRIDES);
  const log = createLogger({ level: 'silent', format: 'json' });
  const ctx = await createContext(d.config, log, d.redisUrl, ROOT);
  const probe = createRedis(redis.url, { usage: 'worker' });
  probe.on('error', () => undefined);
  // Redis is killed on purpose: connection errors are expected, and the clients reconnect.
  ctx.redis.on('error', () => undefined);
  for (const q of ctx.queues.all()) q.on('error', () => undefined);
  const fleet = new WorkerFleet(() => spawnWorker(d, allQueueNames(ctx.account)), Number(args.workers));
  fleet.fill();
  // Ctrl-C: take the worker processes and the private Redis down too.
  const interrupt = () => {
    for (const c of fleet.alive) c.kill('SIGKILL');
    void redis.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const startedAt = Date.now();
  const replayed: ReplayedSteps = [];
  const samples: { round: number; usedMemory: number; keys: number }[] = [];
  let failures = 0;
  console.log(`soak: ${plannedRounds} round(s) of ${perRound} candles × ${markets.length} markets, ${fleet.alive.length} workers, Redis ${redis.url} (appendfsync always) in ${redis.dir}`);
  console.log('round  candles  decisions  orders  fills  kills  redis-restarts  violations  used_memory  keys  worker_rss_mb  soak_rss_mb  seconds');
  try {
    for (let round = 0; round < plannedRounds; round++) {
      if (minutes > 0 && Date.now() - startedAt > minutes * 60_000) break;
      const files = resolveReplayFiles(roundFiles(round), { cwd: ROOT });
      replayed.push(...mergeCandleFiles(files, { lastCandles: 0 }).steps);
      const roundStart = Date.now();
      const stop = new AbortController();
      const killing = keepKilling({ fleet, queues: [ctx.queues.ticks, ctx.queues.analysis, ctx.queues.coordinator, ctx.queues.execution], everyMs: Number(args['kill-every-ms']), minAgeMs: 3000, signal: stop.signal });
      // Every other round, Redis itself dies (kill -9) once, a few seconds in, and comes back.
      const crash =
        round % 2 === 1
          ? (async () => {
              await new Promise((r) => setTimeout(r, 4000));
              if (!stop.signal.aborted) await redis.crashAndRestart(1000);
            })()
          : Promise.resolve();
      try {
        await runReplay(ctx, { files });
      } finally {
        stop.abort();
        await Promise.all([killing, crash]);
      }
      if (!(await waitForDrain(ctx, { timeoutMs: 180_000 }))) throw new Error(`round ${round}: the pipeline did not drain within 180 s`);
      const report = await checkPaperRun(ctx, replayed);
      failures += report.violations.length;
      const usedMemory = await redis.usedMemory(probe);
      const keys = await probe.dbsize();
      samples.push({ round, usedMemory, keys });
      const row = [
        round + 1,
        report.candles,
        report.decisions,
        report.orders,
        report.fills,
        fleet.kills,
        redis.restarts,
        report.violations.length,
        `${mb(usedMemory)} MB`,
        keys,
        fleet.rssMb().join('/'),
        procRssMb(process.pid),
        ((Date.now() - roundStart) / 1000).toFixed(0),
      ];
      console.log(row.join('  '));
      for (const v of report.violations) console.log(`  VIOLATION: ${v}`);
    }
    console.log(`keys by kind after the last round: ${(await keyCensus(probe)).join(', ')}`);
  } finally {
    await fleet.stop();
    await ctx.close().catch(() => undefined);
    probe.disconnect();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
    d.remove();
  }

  if (samples.length >= 4) {
    const half = Math.floor(samples.length / 2);
    const growth = (a: (typeof samples)[number], b: (typeof samples)[number]) => (b.usedMemory - a.usedMemory) / Math.max(1, b.round - a.round);
    const first = growth(samples[0]!, samples[half]!);
    const second = growth(samples[half]!, samples.at(-1)!);
    console.log(`used_memory per round: ${mb(first)} MB in the first half, ${mb(second)} MB in the second half`);
  }
  console.log(failures === 0 ? 'soak: every invariant held after every round' : `soak: ${failures} violation(s)`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
