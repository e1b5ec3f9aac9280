import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { UnrecoverableError, Worker } from 'bullmq';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/api/server.ts';
import { marketKey } from '../src/core/market.ts';
import { serverDepsOf } from '../src/main/serverDeps.ts';
import { runReplay, waitForDrain } from '../src/main/pipeline.ts';
import { allQueueNames } from '../queues/names.ts';
import { dropPrefix, freshPrefix, startPipeline, testConfig, waitFor, type TestPipeline } from './helpers/pipeline.ts';

const TOKEN = 'fake-test-token-browser-0123456789';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BUYER = 'buyer';

/**
 * The dashboard and Bull Board in real headless Chromium, on a real pipeline: a bot that always
 * wants in (its track record seeded with an edge, so entries are sized) trades two real markets.
 */
describe('the dashboard in a browser', () => {
  const prefix = freshPrefix('dash');
  let pipeline: TestPipeline;
  let server: RunningServer;
  let browser: Browser;
  let signedIn: BrowserContext;
  let page: Page;
  let evil: Server;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    pipeline = await startPipeline(
      testConfig(prefix, {
        'replay.files': ['data/ohlcv/ETH_BTC-5m.csv', 'data/ohlcv/LTC_BTC-5m.csv'],
        'replay.lastCandles': 300,
        // 5-minute candles at 20 000× real time: 15 ms apart, so the replay lasts a few seconds.
        'replay.speed': 20_000,
        'bots.dir': 'test/fixtures/risk-bots',
        'bots.instances': [{ id: BUYER, bot: 'always-buy' }],
        'coordinator.minVoters': 1,
        'coordinator.trackRecord.horizonCandles': 1000,
        'risk.volatilityTarget': 0,
        'risk.maxCorrelation': 1,
        'risk.maxVar': 1,
        'risk.dailyLossLimit': 1,
        'risk.maxDrawdown': 1,
        'risk.minEdgeSamples': 1,
      }),
    );
    const { ctx } = pipeline;
    for (const f of ctx.replayFiles) await ctx.redis.hset(ctx.keys.trackRecords(marketKey(f.symbol), f.timeframe), BUYER, JSON.stringify({ n: 50, sum: 0.5, sumSq: 0.03, hits: 40, lastTs: 0 }));
    server = await startServer({ ...serverDepsOf(ctx), host: '127.0.0.1', port: 0, token: TOKEN, liveIntervalMs: 250 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    signedIn = await browser.newContext();
    page = await signedIn.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    evil?.close();
    await server?.close();
    await pipeline?.close();
    await dropPrefix(prefix);
  });

  it('refuses the dashboard and Bull Board without the token: pages send you to sign in, their data is 401', async () => {
    const stranger = await browser.newContext();
    try {
      const p = await stranger.newPage();
      for (const path of ['/', '/admin/queues']) {
        await p.goto(`${server.url}${path}`);
        expect(new URL(p.url()).pathname, path).toBe('/login');
        expect(await p.locator('input[name=token]').count()).toBe(1);
      }
      for (const path of ['/api/events', '/admin/queues/api/queues', '/api/summary', '/dashboard.js']) {
        expect((await stranger.request.get(`${server.url}${path}`, { headers: { accept: 'application/json' } })).status(), path).toBe(401);
      }
      await p.fill('input[name=token]', 'not-the-token-at-all');
      await p.click('button');
      expect(await p.textContent('body')).toContain('wrong token');
    } finally {
      await stranger.close();
    }
  });

  it('signs in with the token and shows the live dashboard with a link to Bull Board', async () => {
    await page.goto(`${server.url}/login?next=/`);
    await page.fill('input[name=token]', TOKEN);
    await page.click('button');
    await page.waitForURL(`${server.url}/`);
    await expect.poll(() => page.textContent('#connection')).toBe('live');
    expect(await page.getAttribute('#bull-board-link', 'href')).toBe('/admin/queues');
    await expect.poll(() => page.getAttribute('#trading-state', 'data-state')).toBe('ACTIVE');
    await expect.poll(() => page.getAttribute('#breaker-state', 'data-state')).toBe('closed');
  });

  it('updates during a replay without a reload: counters, decisions with votes, orders, positions, the candle chart with trade markers', async () => {
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const candlesShown = async () => Number(await page.textContent('#counter-candles b'));
    expect(await candlesShown()).toBe(0);
    const seen = new Set<number>();
    const replay = runReplay(pipeline.ctx, { files: [pipeline.ctx.replayFiles[0]!] });
    let done = false;
    void replay.finally(() => (done = true));
    while (!done) {
      seen.add(await candlesShown());
      await page.waitForTimeout(100);
    }
    expect(await waitForDrain(pipeline.ctx, { timeoutMs: 60_000 })).toBe(true);
    await expect.poll(candlesShown, { timeout: 10_000 }).toBe(300);
    // Several intermediate values were drawn while candles arrived: the page followed the replay.
    const intermediate = [...seen].filter((n) => n > 0 && n < 300);
    expect(intermediate.length, `values seen: ${[...seen].join(', ')}`).toBeGreaterThanOrEqual(3);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    await expect.poll(() => page.locator('#decisions tbody tr[data-key]').count()).toBeGreaterThan(0);
    await page.locator('#decisions tbody tr[data-key] summary').first().click();
    expect(await page.locator('#decisions tbody tr[data-key] details[open] td', { hasText: BUYER }).count()).toBeGreaterThan(0);
    const orders = await pipeline.ctx.ledger.orders();
    expect(orders.length).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#orders tbody tr').count()).toBeGreaterThan(0);
    await expect.poll(() => page.textContent('#counter-orders b')).toBe(String(orders.length));
    // The chart of the replayed market has its candles and a marker per fill.
    const fills = (await pipeline.ctx.ledger.fills()).filter((f) => f.symbol === 'ETH/BTC');
    expect(fills.length).toBeGreaterThan(0);
    await expect.poll(() => page.getAttribute('#candle-chart', 'data-candles')).toBe('300');
    await expect.poll(() => page.getAttribute('#candle-chart', 'data-markers')).toBe(String(fills.length));
    expect(await page.locator('#candle-chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#bots tbody tr[data-bot="buyer"]').count()).toBe(1);
    expect(await page.locator('#quotes .card[data-quote="BTC"]').count()).toBe(1);
  });

  it('throws the kill switch only once confirmed, and then entries are denied', async () => {
    await page.click('#kill-switch');
    await page.fill('#kill-reason', 'not really');
    await page.click('#kill-cancel');
    expect((await pipeline.ctx.risk.tradingState()).state).toBe('ACTIVE');

    await page.click('#kill-switch');
    expect(await page.isChecked('input[name=state][value=HALTED]')).toBe(true);
    await page.fill('#kill-reason', 'browser test: stop entries');
    await page.click('#kill-confirm');
    await expect.poll(() => page.getAttribute('#trading-state', 'data-state')).toBe('HALTED');
    expect(await pipeline.ctx.risk.tradingState()).toMatchObject({ state: 'HALTED', reason: 'browser test: stop entries', by: 'api' });

    const buysBefore = (await pipeline.ctx.ledger.orders()).filter((o) => o.intent.side === 'buy').length;
    await runReplay(pipeline.ctx, { files: [pipeline.ctx.replayFiles[1]!] });
    expect(await waitForDrain(pipeline.ctx, { timeoutMs: 60_000 })).toBe(true);
    // The bot wanted in on every candle of the second market; the first gate said no every time.
    expect((await pipeline.ctx.ledger.orders()).filter((o) => o.intent.side === 'buy').length).toBe(buysBefore);
    expect((await pipeline.ctx.stats.counters())['denials.trading-state']).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#denials tbody tr', { hasText: 'trading-state' }).count()).toBeGreaterThan(0);
  });

  it('refuses a cross-site form that tries to lift the kill switch', async () => {
    // Another site (localhost is not 127.0.0.1) with a form that posts to the server on its own.
    evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form id="f" method="post" action="${server.url}/api/trading-state" enctype="text/plain"><input name='{"state":"ACTIVE","reason":"x","pad":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, 'localhost', resolve));
    const evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
    const attacked = await signedIn.newPage();
    const answer = attacked.waitForResponse((r) => r.url().startsWith(`${server.url}/api/trading-state`));
    await attacked.goto(evilUrl);
    const res = await answer;
    expect(res.status()).toBe(403);
    expect(await res.text()).toMatch(/cross-site request refused/);
    expect((await pipeline.ctx.risk.tradingState()).state).toBe('HALTED');
    await attacked.close();
  });

  it('lists every queue in Bull Board, and a failed job can be retried from it', async () => {
    // Stop the workers so that the retried job stays waiting for us to see.
    await pipeline.workers!.close();
    const queue = pipeline.ctx.queues.notifications;
    const failing = new Worker(queue.name, async () => { throw new UnrecoverableError('channel down for the test'); }, { connection: pipeline.ctx.redis, prefix: pipeline.ctx.queues.prefix });
    const job = await queue.add('browser-test', { any: 'thing' });
    await waitFor(async () => (await job.getState()) === 'failed');
    await failing.close();

    await page.goto(`${server.url}/admin/queues`);
    for (const name of allQueueNames('paper')) await expect.poll(() => page.getByText(name, { exact: true }).count(), { message: name }).toBeGreaterThan(0);

    await page.goto(`${server.url}/admin/queues/queue/${queue.name}?status=failed`);
    await page.getByText('channel down for the test').first().waitFor();
    // The job card's retry button (an icon with a "Retry" tooltip), then Bull Board's confirmation.
    const retry = page.locator('button:has(svg.lucide-refresh-cw)').filter({ hasNotText: /retry all/i }).first();
    await retry.hover();
    await page.getByText(/^retry$/i).first().waitFor();
    await retry.click();
    await page.getByRole('button', { name: /^confirm$/i }).click();
    await waitFor(async () => ['waiting', 'wait', 'prioritized'].includes(await job.getState()), 10_000);
  });
});
