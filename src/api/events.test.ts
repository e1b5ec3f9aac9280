import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../infra/logger.ts';
import { LiveFeed } from './events.ts';

/** Reads server-sent events from a stream until `count` snapshot events arrived. */
async function readSnapshots(url: string, count: number): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(url);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const out: Array<Record<string, unknown>> = [];
  while (out.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event === 'snapshot' && data) out.push(JSON.parse(data));
    }
  }
  await reader.cancel();
  return out;
}

describe('the live feed of the dashboard', () => {
  it('sends the history and the state at once, then a snapshot per tick with only the equity points that moved', async () => {
    let equity = 1;
    let built = 0;
    const live = new LiveFeed(
      {
        snapshot: async () => ({ n: ++built }),
        slowSnapshot: async () => ({ bots: ['b'] }),
        equity: async () => [
          { quote: 'BTC', equity, drawdown: 0 },
          { quote: 'ETH', equity: 20, drawdown: 0 },
        ],
        log: createLogger({ level: 'silent', format: 'json' }),
      },
      30,
      3,
    );
    const app = express();
    app.get('/events', (req, res) => void live.connect(req, res));
    const server = createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      live.start();
      await new Promise((r) => setTimeout(r, 100)); // a few ticks with nothing moving
      equity = 1.5;
      const [first, ...later] = await readSnapshots(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, 7);
      // A page opened later gets the curve so far: one point per quote, the unchanged ticks left out.
      const history = first!.equityHistory as Array<{ quote: string; equity: number }>;
      expect(history.filter((p) => p.quote === 'ETH')).toHaveLength(1);
      expect(first).toMatchObject({ bots: ['b'] });
      // Then only what moved: BTC's new equity once, ETH never again.
      const points = later.flatMap((s) => (s.equityPoints as Array<{ quote: string; equity: number }>) ?? []);
      expect(points.filter((p) => p.quote === 'ETH')).toEqual([]);
      expect(points.filter((p) => p.quote === 'BTC').length).toBeLessThanOrEqual(1);
      // The slow part (bots) comes every third tick only.
      const withBots = later.filter((s) => s.bots !== undefined).length;
      expect(withBots).toBeGreaterThanOrEqual(1);
      expect(withBots).toBeLessThan(later.length);
    } finally {
      live.stop();
      server.closeAllConnections();
      server.close();
    }
  });
});
