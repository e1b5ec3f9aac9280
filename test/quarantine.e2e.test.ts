import { afterAll, describe, expect, it } from 'vitest';
import type { Decision } from '../processors/coordinator.ts';
import { instanceReports, releaseInstance } from '../src/main/botControl.ts';
import { dropPrefix, freshPrefix, startPipeline, testConfig, waitFor } from './helpers/pipeline.ts';

describe('quarantine', () => {
  const prefix = freshPrefix('quarantine');
  afterAll(async () => {
    await dropPrefix(prefix);
  });

  it('takes an instance that keeps failing out of service, raises an alert, and lets it back in when released', async () => {
    const pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/ADA_BTC-5m.csv'],
        'replay.lastCandles': 40,
        // One candle every 60 ms: slow enough that the quarantine takes effect mid-run.
        'replay.speed': 5000,
        'bots.dir': 'test/fixtures/pipeline-bots',
        'bots.quarantineAfter': 3,
        'bots.instances': [
          { id: 'steady', bot: 'momentum' },
          { id: 'thrower', bot: 'thrower' },
        ],
      }),
    );
    const { ctx } = pipeline;
    try {
      await pipeline.replayAndDrain();
      const decisions = ((await ctx.decisions.all()) as Decision[]).sort((a, b) => a.candleTs - b.candleTs);
      expect(decisions).toHaveLength(40);
      const asked = decisions.map((d) => d.abstentions.some((a) => a.instanceId === 'thrower'));
      // Asked (and failing) at first; then no longer asked at all, while the good bot goes on voting.
      expect(asked.slice(0, 3)).toEqual([true, true, true]);
      expect(asked.slice(-15).every((a) => !a)).toBe(true);
      expect(decisions.slice(-15).every((d) => d.votes.some((v) => v.instanceId === 'steady'))).toBe(true);
      const failedJobs = (await ctx.queues.analysis.getFailed(0, 1000)).filter((j) => j.data.instanceId === 'thrower');
      expect(failedJobs.length).toBeGreaterThanOrEqual(3);
      expect(failedJobs.length).toBeLessThan(25);

      const { quarantined } = await ctx.health.suspended();
      expect(quarantined.thrower?.reason).toMatch(/^3 failures in a row; last: .*thrower exploded on purpose/);
      const reports = await instanceReports(ctx);
      expect(reports.find((r) => r.id === 'thrower')).toMatchObject({ status: 'quarantined' });
      expect(reports.find((r) => r.id === 'steady')).toMatchObject({ status: 'running' });
      const alerts = (await ctx.queues.notifications.getJobs(['waiting', 'completed', 'prioritized'])).filter((j) => j.data.event === 'bot.quarantined');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.data).toMatchObject({ priority: 'error', title: 'bot instance thrower (thrower) quarantined' });
      expect((await ctx.stats.counters())['bots.quarantined']).toBe(1);

      expect(await releaseInstance(ctx, 'thrower', 'test')).toEqual({ wasQuarantined: true, wasDisabled: false });
      expect((await instanceReports(ctx)).find((r) => r.id === 'thrower')).toMatchObject({ status: 'running', health: { streak: 0 } });
      await waitFor(async () => Object.keys((await ctx.health.suspended()).quarantined).length === 0);
    } finally {
      await pipeline.close();
    }
  });
});
