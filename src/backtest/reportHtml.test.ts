import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../core/candle.ts';
import type { PerformanceReport } from '../core/performance.ts';
import { computeMetrics, marketBreakdown } from '../core/performance.ts';
import type { Trade } from '../core/roundTrips.ts';
import { escapeHtml, jsonForScript } from './html.ts';
import { maskSecretValues, MASK } from './maskSecrets.ts';
import { displayPrecision, renderReportHtml, tradeMarkers } from './reportHtml.ts';
import { REPORT_SCRIPT } from './reportPage.ts';

const PAYLOAD = '</script><script>alert(1)</script><img src=x onerror="alert(2)">&amp;\'';

describe('escapeHtml', () => {
  it('replaces the characters that could open a tag, an entity or leave an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});

describe('jsonForScript', () => {
  it('never contains "<", so no "</script" or "<!--" can end the element, and parses back to the same value', () => {
    const value = { s: PAYLOAD, c: '<!-- x -->', sep: 'a\u2028b\u2029c', n: [1, 0.5, null] };
    const out = jsonForScript(value);
    expect(out).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(out)).toEqual(value);
  });

  it('refuses a value with no JSON form', () => {
    expect(() => jsonForScript(undefined)).toThrow(/no JSON form/);
  });
});

describe('maskSecretValues', () => {
  it('masks secret-looking keys at any depth and keeps everything else', () => {
    const config = { exchange: { id: 'binance', apiKey: 'k-123456', apiSecret: 's-123456' }, server: { token: 't'.repeat(16), port: 3000 }, list: [{ password: 'p' }] };
    expect(maskSecretValues(config)).toEqual({ exchange: { id: 'binance', apiKey: MASK, apiSecret: MASK }, server: { token: MASK, port: 3000 }, list: [{ password: MASK }] });
  });
});

describe('displayPrecision', () => {
  it('shows about five significant digits of the largest value', () => {
    expect(displayPrecision([0.0984, 0.0991])).toBe(6);
    expect(displayPrecision([0.00141342])).toBe(7);
    expect(displayPrecision([1.02])).toBe(4);
    expect(displayPrecision([43_000])).toBe(2);
    expect(displayPrecision([])).toBe(2);
  });
});

const T0 = Date.UTC(2018, 0, 10);
const candles: Candle[] = Array.from({ length: 10 }, (_, i) => ({ ts: T0 + i * 300_000, open: 1, high: 1.1, low: 0.9, close: 1, volume: 5 }));

function trade(over: Partial<Trade>): Trade {
  return {
    id: 'q-1', symbol: 'ETH/BTC', side: 'long', quote: 'BTC', quantity: '1', entryTs: T0, entryPrice: '1', exitTs: null, exitPrice: null, fees: '0', pnl: '0',
    returnPct: 0, status: 'open', exitReason: null, exitDetail: null, entryReason: null, voters: [], entryOrders: ['q-1'], exitOrders: [], ...over,
  };
}

describe('tradeMarkers', () => {
  it('puts entries and exits on the candle their fill falls in, in time order, and skips fills before the first candle', () => {
    const markers = tradeMarkers(candles, [
      trade({ entryTs: T0 + 5 * 300_000 + 1000, exitTs: T0 + 7 * 300_000 + 299_999, status: 'closed', exitReason: 'stop-loss' }),
      trade({ entryTs: T0 + 300_000 }),
      trade({ entryTs: T0 - 1 }),
    ]);
    expect(markers).toEqual([
      { time: (T0 + 300_000) / 1000, kind: 'entry', text: 'buy' },
      { time: (T0 + 5 * 300_000) / 1000, kind: 'entry', text: 'buy' },
      { time: (T0 + 7 * 300_000) / 1000, kind: 'exit', text: 'stop-loss' },
    ]);
  });
});

describe('renderReportHtml', () => {
  const evilSymbol = 'EVIL/BTC';
  const trades = [trade({ symbol: evilSymbol, id: PAYLOAD, exitReason: PAYLOAD, status: 'closed', exitTs: T0 + 600_000, exitPrice: '1.1', pnl: '0.1', voters: [{ instanceId: PAYLOAD, share: 1 }] })];
  const equity = { BTC: candles.map((c, i) => ({ ts: c.ts, equity: 1 + (i % 3) * 0.01 })) };
  const report: PerformanceReport = {
    generatedAt: T0 + 3_600_000,
    metrics: [computeMetrics('BTC', equity.BTC, trades, 300_000)],
    instances: [{ instanceId: PAYLOAD, votes: 3, buys: 2, sells: 1, scored: 3, hitRate: 2 / 3, trades: 1, pnl: { BTC: '0.1' } }],
    markets: marketBreakdown(trades, T0, T0 + 9 * 300_000),
    equity,
    trades,
  };
  const html = renderReportHtml({ title: `Run ${PAYLOAD}`, report, config: { note: PAYLOAD }, prices: { [evilSymbol]: candles } });

  it('escapes every text that comes from ids, reasons, the title and the config', () => {
    expect(html).not.toContain('<img');
    expect(html).not.toContain('alert(1)</script>');
    expect(html).toContain(escapeHtml(`Run ${PAYLOAD}`));
    expect(html.split(escapeHtml(PAYLOAD)).length - 1).toBeGreaterThanOrEqual(5); // title ×2, instance, trade id, exit reason, voters, config
  });

  it('has exactly three script elements: the JSON data, the chart library and the page script', () => {
    expect(html.match(/<script/gi)).toHaveLength(3);
    expect(html.match(/<\/script/gi)).toHaveLength(3);
    expect(html).toContain('<script type="application/json" id="report-data">');
  });

  it('embeds chart data that parses back, with the equity, drawdown and candle series and the markers', () => {
    const json = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)![1]!;
    const data = JSON.parse(json);
    expect(data.equity).toHaveLength(1);
    expect(data.equity[0].equity).toHaveLength(candles.length);
    expect(Math.min(...data.equity[0].drawdown.map((p: { value: number }) => p.value))).toBeCloseTo(-100 * (0.02 / 1.02), 10);
    expect(data.markets).toEqual([expect.objectContaining({ symbol: evilSymbol, candles: expect.any(Array), markers: [expect.objectContaining({ kind: 'entry' }), expect.objectContaining({ kind: 'exit', text: PAYLOAD })] })]);
  });

  it('allows by its Content-Security-Policy only the hashes of its own two inline scripts', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)![1]!.replaceAll('&#39;', "'");
    const hashes = [...csp.matchAll(/'sha256-([^']+)'/g)].map((m) => m[1]);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => createHash('sha256').update(m[1]!, 'utf8').digest('base64'));
    expect(scripts).toHaveLength(2);
    expect(hashes).toEqual(scripts);
    expect(html).toContain(REPORT_SCRIPT);
    expect(csp).toContain("default-src 'none'");
  });

  it('shows one metrics column per currency and the trade in the trade list', () => {
    expect(html).toContain('<th>Metric</th><th>BTC</th>');
    expect(html).toContain(`<td class="text">${escapeHtml(evilSymbol)}</td><td class="text">closed</td>`);
  });
});
