import { describe, expect, it } from 'vitest';
import { dedupeKeyOf } from './dedupe.ts';
import { drawdownAlert, drawdownLevel } from './drawdown.ts';
import { atLeast } from './priority.ts';
import { signBody, verifySignature } from './signature.ts';
import { counterIncrease, renderDailySummary } from './summary.ts';
import { watchWorkers } from './workerWatch.ts';

describe('priorities', () => {
  it('orders info < warning < error < critical', () => {
    expect(atLeast('critical', 'warning')).toBe(true);
    expect(atLeast('info', 'warning')).toBe(false);
    expect(atLeast('warning', 'warning')).toBe(true);
  });
});

describe('dedupe keys', () => {
  it('are equal for the same event and key, and differ by event or key', () => {
    const a = { event: 'order.filled', dedupeKey: 'qb-1', title: 't', body: 'b' };
    expect(dedupeKeyOf(a)).toBe(dedupeKeyOf({ ...a, title: 'other title' }));
    expect(dedupeKeyOf(a)).not.toBe(dedupeKeyOf({ ...a, dedupeKey: 'qb-2' }));
    expect(dedupeKeyOf(a)).not.toBe(dedupeKeyOf({ ...a, event: 'order.rejected' }));
  });

  it('fall back to the title and body when there is no key', () => {
    const a = { event: 'breaker.opened', title: 'opened', body: 'why' };
    expect(dedupeKeyOf(a)).toBe(dedupeKeyOf({ ...a }));
    expect(dedupeKeyOf(a)).not.toBe(dedupeKeyOf({ ...a, body: 'another reason' }));
    expect(dedupeKeyOf(a)).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('webhook signature', () => {
  it('is the hex HMAC-SHA256 of the raw body and verifies only with the same key and body', () => {
    // echo -n '{"a":1}' | openssl dgst -sha256 -hmac 'a-secret-of-16-chars'
    const sig = signBody('a-secret-of-16-chars', '{"a":1}');
    expect(sig).toBe('sha256=46e61cca8a2aa9392649889d38e5a4bbf30cbf5acd0d1d6f7d82759c3d15029b');
    expect(verifySignature('a-secret-of-16-chars', '{"a":1}', sig)).toBe(true);
    expect(verifySignature('a-secret-of-16-chars', '{"a":2}', sig)).toBe(false);
    expect(verifySignature('another-secret-xxxxx', '{"a":1}', sig)).toBe(false);
    expect(verifySignature('a-secret-of-16-chars', '{"a":1}', undefined)).toBe(false);
  });
});

describe('drawdown thresholds', () => {
  const thresholds = [0.1, 0.05, 0.15];

  it('counts the thresholds reached', () => {
    expect(drawdownLevel(0.04, thresholds)).toBe(0);
    expect(drawdownLevel(0.05, thresholds)).toBe(1);
    expect(drawdownLevel(0.12, thresholds)).toBe(2);
    expect(drawdownLevel(Number.NaN, thresholds)).toBe(0);
  });

  it('alerts once when crossing up, naming the highest threshold crossed', () => {
    const { level, alert } = drawdownAlert('BTC', 0, 0.12, thresholds, 0.2);
    expect(level).toBe(2);
    expect(alert).toMatchObject({ event: 'drawdown.crossed', priority: 'warning', title: 'BTC drawdown 12.0% crossed 10.0%' });
    expect(drawdownAlert('BTC', 2, 0.13, thresholds, 0.2).alert).toBeUndefined();
  });

  it('is critical once entries halt at the maximum drawdown', () => {
    expect(drawdownAlert('BTC', 2, 0.2, thresholds, 0.2).alert).toMatchObject({ priority: 'critical', title: 'BTC drawdown 20.0% crossed 15.0%' });
  });

  it('says when the drawdown falls back below a threshold, as info', () => {
    expect(drawdownAlert('ETH', 2, 0.01, thresholds, 0.2)).toMatchObject({ level: 0, alert: { event: 'drawdown.recovered', priority: 'info' } });
  });
});

describe('worker watch', () => {
  it('announces a queue whose workers are gone for the set time, once, and its recovery', () => {
    let r = watchWorkers({}, { ticks: true, analysis: false }, 1000, 60_000);
    expect(r.alerts).toEqual([]);
    expect(r.seen).toEqual({ ticks: { lastSeen: 1000, lost: false } });
    r = watchWorkers(r.seen, { ticks: false }, 30_000, 60_000);
    expect(r.alerts).toEqual([]);
    r = watchWorkers(r.seen, { ticks: false }, 61_000, 60_000);
    expect(r.alerts).toMatchObject([{ event: 'worker.lost', priority: 'critical', title: 'no worker serves queue ticks' }]);
    r = watchWorkers(r.seen, { ticks: false }, 120_000, 60_000);
    expect(r.alerts).toEqual([]);
    r = watchWorkers(r.seen, { ticks: true }, 121_000, 60_000);
    expect(r.alerts).toMatchObject([{ event: 'worker.restored', title: 'queue ticks has a worker again' }]);
  });
});

describe('daily summary', () => {
  it('reports equity with its change, the day\'s activity, denials and states', () => {
    const { title, body } = renderDailySummary({
      day: '2026-01-02',
      account: 'paper',
      tradingState: 'ACTIVE',
      breaker: 'closed',
      quotes: [{ quote: 'BTC', equity: '1.01', previousEquity: '1', drawdown: 0.02, openPositions: 1 }],
      activity: counterIncrease({ decisions: 300, 'decisions.buy': 5, orders: 4, 'orders.filled': 3, fills: 3, 'denials.exposure': 2 }, { decisions: 100, orders: 1 }),
      workersLost: ['analysis'],
    });
    expect(title).toBe('Quorum daily summary 2026-01-02 (paper)');
    expect(body.split('\n')).toEqual([
      'equity BTC: 1.01 (+0.01, +1.00%), drawdown 2.0%, 1 open position',
      'decisions 200 (buy 5, sell 0); orders 3, filled 3, cancelled 0, rejected 0; fills 3',
      'denials: exposure 2',
      'trading ACTIVE; breaker closed',
      'no worker serving: analysis',
    ]);
  });

  it('counts a counter that went down (a reset) from zero', () => {
    expect(counterIncrease({ a: 3 }, { a: 10 })).toEqual({ a: 3 });
  });
});
