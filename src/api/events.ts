import type { Request, Response } from 'express';
import type { Logger } from '../infra/logger.ts';

export interface EquityPoint {
  ts: number;
  quote: string;
  equity: number;
  drawdown: number;
}

export interface LiveDeps {
  /** Everything the dashboard shows that changes quickly. */
  snapshot(): Promise<Record<string, unknown>>;
  /** The slower part (bots with health and P&L contribution): sent every `slowEvery` ticks. */
  slowSnapshot(): Promise<Record<string, unknown>>;
  /** Equity and drawdown per quote currency, sampled on every tick for the curves. */
  equity(): Promise<Array<{ quote: string; equity: number; drawdown: number }>>;
  log: Logger;
}

const HISTORY_MAX = 5_000;
const IDLE_POINT_MS = 60_000;

/**
 * Server-sent events for the dashboard. One timer per server builds a snapshot and sends it to
 * every connected page (not one per page), and samples the equity curve whether or not a page is
 * open, so a page opened later still draws the curve since this server started.
 */
export class LiveFeed {
  private readonly clients = new Set<Response>();
  private readonly history: EquityPoint[] = [];
  private readonly lastPoint = new Map<string, EquityPoint>();
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private busy = false;
  /** The last failure logged: a lasting one (Redis down, a ledger not created yet) is logged once, not every second. */
  private lastProblem = '';

  constructor(
    private readonly deps: LiveDeps,
    private readonly intervalMs: number,
    private readonly slowEvery = 5,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  /** GET /api/events: the equity history and the latest state at once, then a snapshot per tick. */
  async connect(req: Request, res: Response): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
    try {
      const [fast, slow] = await Promise.all([this.deps.snapshot(), this.deps.slowSnapshot()]);
      send(res, 'snapshot', { ...fast, ...slow, equityHistory: this.history });
    } catch (error) {
      send(res, 'problem', { message: `could not read the state: ${(error as Error).message}` });
    }
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // a slow Redis: skip a beat rather than pile up reads
    this.busy = true;
    try {
      const now = Date.now();
      // A point per quote when its equity or drawdown moved, else one a minute: the bounded
      // history then spans hours of a quiet market, not minutes.
      const points = (await this.deps.equity()).map((q) => ({ ts: now, ...q })).filter((p) => {
        const last = this.lastPoint.get(p.quote);
        return !last || last.equity !== p.equity || last.drawdown !== p.drawdown || now - last.ts >= IDLE_POINT_MS;
      });
      for (const p of points) this.lastPoint.set(p.quote, p);
      this.history.push(...points);
      if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX);
      this.lastProblem = '';
      if (this.clients.size === 0) return;
      const slowDue = this.ticks++ % this.slowEvery === 0;
      const [fast, slow] = await Promise.all([this.deps.snapshot(), slowDue ? this.deps.slowSnapshot() : Promise.resolve(undefined)]);
      for (const res of this.clients) send(res, 'snapshot', { ...fast, ...(slow ?? {}), equityPoints: points });
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.lastProblem) this.deps.log.warn({ err: message }, 'live dashboard update failed');
      this.lastProblem = message;
      for (const res of this.clients) send(res, 'problem', { message: `could not read the state: ${(error as Error).message}` });
    } finally {
      this.busy = false;
    }
  }
}

function send(res: Response, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
