import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle } from '../src/core/candle.ts';
import type { Fill } from '../src/core/order.ts';
import { computeMetrics, marketBreakdown, pnlContributions, type EquityPoint, type InstanceAttribution, type PerformanceReport } from '../src/core/performance.ts';
import { roundTrips, type OrderContext } from '../src/core/roundTrips.ts';
import { quoteOf } from '../src/core/market.ts';
import { readCandleFile } from '../src/feed/candleCsv.ts';
import { CHART_COLORS } from '../src/backtest/reportPage.ts';
import { writeReport, type ReportJson } from '../src/backtest/writeReport.ts';
import { parseCsv } from './helpers/csvParse.ts';
import { ROOT } from './helpers/pipeline.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TF_MS = 300_000;
const FEE_RATE = 0.001;
const INSTANCES = ['ema-fast', 'rsi-14', 'donchian-20'];

/** Real 5-minute candles of three markets in two currencies (BTC and ETH), a few days of each. */
function loadPrices(): Record<string, Candle[]> {
  const read = (file: string, n: number) => readCandleFile(join(ROOT, 'data', 'ohlcv', file), '5m').accepted.slice(0, n).map((r) => r.candle);
  return { 'ETH/BTC': read('ETH_BTC-5m.csv', 1500), 'LTC/BTC': read('LTC_BTC-5m.csv', 1500), 'XRP/ETH': read('XRP_ETH-5m.csv', 706) };
}

/**
 * A small, realistic run: per market, a few round trips entered and left at the next candle's
 * open (0.1 % fee in the quote currency), exits by vote, stop or take profit, the last one still
 * open; the equity curve of each currency marked to the candles' closes; then the core's own
 * round trips, metrics, attribution and breakdown, exactly as the engine will use them.
 */
function buildRun(prices: Record<string, Candle[]>): PerformanceReport {
  const start: Record<string, number> = { BTC: 1, ETH: 10 };
  const fills: Fill[] = [];
  const contexts = new Map<string, OrderContext>();
  const votes = new Map<string, { votes: number; scored: number; right: number }>(INSTANCES.map((id) => [id, { votes: 0, scored: 0, right: 0 }]));
  const exitKinds = [{ purpose: 'consensus' }, { purpose: 'exit', exitKind: 'stop-loss' }, { purpose: 'exit', exitKind: 'take-profit' }] as const;

  for (const [symbol, candles] of Object.entries(prices)) {
    const quote = quoteOf(symbol);
    const step = Math.floor(candles.length / 5);
    for (let k = 0; k < 4; k++) {
      const decided = k * step + 20;
      const entry = candles[decided + 1]!;
      const amount = ((start[quote]! * 0.3) / entry.open).toFixed(4);
      const voters = INSTANCES.slice(0, 1 + (k % 3)).map((instanceId, j) => ({ instanceId, weight: 1 - j * 0.25 }));
      const buyId = `q-${symbol.replace('/', '-')}-${entry.ts}-buy`;
      contexts.set(buyId, { purpose: 'consensus', reason: `weighted vote for buy by ${voters.length}`, voters });
      fills.push({ clientOrderId: buyId, symbol, side: 'buy', amount, price: String(entry.open), fee: (Number(amount) * entry.open * FEE_RATE).toFixed(8), feeCurrency: quote, ts: entry.ts });
      const later = candles[decided + 13]!;
      for (const v of voters) {
        const tally = votes.get(v.instanceId)!;
        tally.votes += 1;
        tally.scored += 1;
        if (later.close > entry.open) tally.right += 1;
      }
      if (k === 3) continue; // still open at the end
      const exit = candles[decided + 1 + Math.floor(step / 2) + k * 7]!;
      const sellId = `q-${symbol.replace('/', '-')}-${exit.ts}-sell`;
      contexts.set(sellId, { ...exitKinds[k]!, reason: `exit ${k} of ${symbol}`, voters: [] });
      fills.push({ clientOrderId: sellId, symbol, side: 'sell', amount, price: String(exit.open), fee: (Number(amount) * exit.open * FEE_RATE).toFixed(8), feeCurrency: quote, ts: exit.ts });
    }
  }

  const equity: Record<string, EquityPoint[]> = {};
  for (const currency of Object.keys(start)) {
    const symbols = Object.keys(prices).filter((s) => quoteOf(s) === currency);
    const times = [...new Set(symbols.flatMap((s) => prices[s]!.map((c) => c.ts)))].sort((a, b) => a - b);
    const mine = fills.filter((f) => quoteOf(f.symbol) === currency).sort((a, b) => a.ts - b.ts);
    let cash = start[currency]!;
    const held: Record<string, number> = {};
    const close: Record<string, number> = {};
    const cursor: Record<string, number> = Object.fromEntries(symbols.map((s) => [s, 0]));
    let next = 0;
    equity[currency] = times.map((ts) => {
      for (; next < mine.length && mine[next]!.ts <= ts; next++) {
        const f = mine[next]!;
        const notional = Number(f.amount) * Number(f.price);
        cash += f.side === 'buy' ? -notional - Number(f.fee) : notional - Number(f.fee);
        held[f.symbol] = (held[f.symbol] ?? 0) + (f.side === 'buy' ? Number(f.amount) : -Number(f.amount));
      }
      for (const s of symbols) {
        const cs = prices[s]!;
        while (cursor[s]! < cs.length && cs[cursor[s]!]!.ts <= ts) close[s] = cs[cursor[s]!++]!.close;
      }
      return { ts, equity: cash + symbols.reduce((sum, s) => sum + (held[s] ?? 0) * (close[s] ?? 0), 0) };
    });
  }

  const marks = Object.fromEntries(Object.entries(prices).map(([s, cs]) => [s, String(cs[cs.length - 1]!.close)]));
  const trades = roundTrips(fills, (id) => contexts.get(id), marks);
  const contributions = pnlContributions(trades);
  const instances: InstanceAttribution[] = INSTANCES.map((instanceId) => {
    const t = votes.get(instanceId)!;
    const c = contributions.get(instanceId);
    return { instanceId, votes: t.votes, buys: t.votes, sells: 0, scored: t.scored, hitRate: t.scored > 0 ? t.right / t.scored : null, trades: c?.trades ?? 0, pnl: c?.pnl ?? {} };
  });
  const from = Math.min(...Object.values(equity).map((c) => c[0]!.ts));
  const to = Math.max(...Object.values(equity).map((c) => c[c.length - 1]!.ts));
  return {
    generatedAt: Date.UTC(2026, 0, 2, 9, 30),
    metrics: Object.keys(equity).sort().map((q) => computeMetrics(q, equity[q]!, trades.filter((t) => t.quote === q), TF_MS)),
    instances,
    markets: marketBreakdown(trades, from, to),
    equity,
    trades,
  };
}

/** Pixels of a colour, the share of plot columns holding one, and the share of the plot width between the first and last such column. */
interface ColourCount { pixels: number; columns: number; extent: number }

describe('the backtest report folder', () => {
  const prices = loadPrices();
  const report = buildRun(prices);
  const folder = mkdtempSync(join(tmpdir(), 'quorum-report-'));
  let browser: Browser;

  beforeAll(async () => {
    await writeReport(folder, { title: 'Backtest <ETH/BTC, LTC/BTC & XRP/ETH>', report, config: { markets: Object.keys(prices), exchange: { apiKey: 'real-looking-key-123' } }, prices });
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is needed to test report.html but was not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does) or set CHROMIUM_PATH`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    // QUORUM_KEEP_REPORT=1 keeps the folder (with screenshot.png) to look at.
    if (process.env.QUORUM_KEEP_REPORT === '1') console.log(`report kept in ${folder}`);
    else rmSync(folder, { recursive: true, force: true });
  });

  it('holds report.json, trades.csv and equity.csv that agree with the report and mask secrets', () => {
    expect(report.trades.length).toBe(12);
    expect(report.trades.filter((t) => t.status === 'open')).toHaveLength(3);
    const json = JSON.parse(readFileSync(join(folder, 'report.json'), 'utf8')) as ReportJson;
    expect(json.report).toEqual(report);
    expect(json.meta.title).toBe('Backtest <ETH/BTC, LTC/BTC & XRP/ETH>');
    expect(json.config).toEqual({ markets: ['ETH/BTC', 'LTC/BTC', 'XRP/ETH'], exchange: { apiKey: '***masked***' } });
    for (const name of ['report.json', 'trades.csv', 'equity.csv', 'report.html']) {
      expect(readFileSync(join(folder, name), 'utf8')).not.toContain('real-looking-key-123');
    }
    const trades = parseCsv(readFileSync(join(folder, 'trades.csv'), 'utf8'));
    expect(trades.slice(1).map((r) => r[0])).toEqual(report.trades.map((t) => t.id));
    const equity = parseCsv(readFileSync(join(folder, 'equity.csv'), 'utf8'));
    expect(equity).toHaveLength(1 + report.equity.BTC!.length + report.equity.ETH!.length);
    const btcDrawdowns = equity.slice(1).filter((r) => r[2] === 'BTC').map((r) => Number(r[4]));
    expect(Math.max(...btcDrawdowns)).toBe(report.metrics.find((m) => m.currency === 'BTC')!.maxDrawdown.depth);
  });

  it('report.html opened from disk and offline draws every chart, with trade markers, and no errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const problems: string[] = [];
    const network: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    await page.route(/^(https?|wss?):/, (route) => { network.push(route.request().url()); return route.abort(); });

    await page.goto(pathToFileURL(join(folder, 'report.html')).href);
    await page.waitForSelector('body[data-charts-ready="true"]', { timeout: 15_000 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    writeFileSync(join(folder, 'screenshot.png'), await page.screenshot({ fullPage: true }));

    const charts = await page.$$eval('.chart', (els) => els.map((el) => ({ id: el.id, kind: el.getAttribute('data-chart'), label: el.getAttribute('data-label'), markers: Number(el.getAttribute('data-markers') ?? 0), canvases: el.querySelectorAll('canvas').length })));
    expect(charts.map((c) => `${c.kind}:${c.label}`)).toEqual(['equity:BTC', 'drawdown:BTC', 'equity:ETH', 'drawdown:ETH', 'price:ETH/BTC', 'price:LTC/BTC', 'price:XRP/ETH']);

    // Decode each chart's screenshot in a blank page and count pixels of the series' colours in
    // the plot area (the price scale on the right, which shows a coloured last-value label, is left out).
    const decoder = await browser.newPage();
    const colours = async (png: Buffer, targets: Record<string, string>): Promise<Record<string, ColourCount>> =>
      decoder.evaluate(async ({ b64, targets }) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        const plotWidth = img.width - 120;
        const { data } = ctx.getImageData(0, 0, plotWidth, img.height);
        const out: Record<string, { pixels: number; columns: number; extent: number }> = {};
        for (const [name, hex] of Object.entries(targets)) {
          const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
          const columns = new Set<number>();
          let pixels = 0;
          for (let p = 0; p < data.length; p += 4) {
            if (rgb.every((v, k) => Math.abs(data[p + k]! - v) <= 24)) { pixels++; columns.add((p / 4) % plotWidth); }
          }
          const xs = [...columns];
          out[name] = { pixels, columns: columns.size / plotWidth, extent: xs.length > 0 ? (Math.max(...xs) - Math.min(...xs)) / plotWidth : 0 };
        }
        return out;
      }, { b64: png.toString('base64'), targets });

    for (const chart of charts) {
      expect(chart.canvases, `${chart.kind} chart of ${chart.label} has a canvas`).toBeGreaterThan(0);
      const png = await page.locator(`#${chart.id}`).screenshot();
      if (chart.kind === 'equity' || chart.kind === 'drawdown') {
        const { line } = await colours(png, { line: CHART_COLORS[chart.kind] });
        // A curve across the whole period covers nearly every column of the plot.
        expect(line!.columns, `${chart.kind} curve of ${chart.label} spans the plot`).toBeGreaterThan(0.8);
        expect(line!.pixels, `${chart.kind} curve of ${chart.label} is a line, not a few dots`).toBeGreaterThan(line!.columns * 1000);
      } else {
        const found = await colours(png, { up: CHART_COLORS.candleUp, down: CHART_COLORS.candleDown, entry: CHART_COLORS.entry, exit: CHART_COLORS.exit });
        // Thin candles leave gaps between them: they must reach across the plot and fill a good part of it.
        expect(Math.max(found.up!.extent, found.down!.extent), `candles of ${chart.label} span the plot`).toBeGreaterThan(0.9);
        expect(found.up!.columns + found.down!.columns, `candles of ${chart.label} fill the plot`).toBeGreaterThan(0.4);
        expect(found.up!.pixels, `rising candles of ${chart.label}`).toBeGreaterThan(100);
        expect(found.down!.pixels, `falling candles of ${chart.label}`).toBeGreaterThan(100);
        expect(chart.markers, `markers of ${chart.label}`).toBe(7);
        expect(found.entry!.pixels, `entry markers of ${chart.label}`).toBeGreaterThan(20);
        expect(found.exit!.pixels, `exit markers of ${chart.label}`).toBeGreaterThan(20);
      }
    }

    expect(await page.locator('h1').textContent()).toBe('Backtest <ETH/BTC, LTC/BTC & XRP/ETH>');
    expect(await page.locator('h2:has-text("Trades") + div tbody tr').count()).toBe(report.trades.length);
    expect(problems).toEqual([]);
    expect(network).toEqual([]);
  });

  it('report.html of a run with no trades, equity or candles opens without errors and says so', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'quorum-report-empty-'));
    await writeReport(empty, { title: 'Nothing happened', report: { generatedAt: Date.UTC(2026, 0, 2), metrics: [], instances: [], markets: [], equity: {}, trades: [] }, config: {}, prices: {} });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    await page.goto(pathToFileURL(join(empty, 'report.html')).href);
    await page.waitForSelector('body[data-charts-ready="true"]', { timeout: 15_000 });
    expect(await page.locator('.chart').count()).toBe(0);
    expect(await page.locator('h2:has-text("Trades") + p').textContent()).toBe('No trades.');
    expect(problems).toEqual([]);
    rmSync(empty, { recursive: true, force: true });
  });
});
