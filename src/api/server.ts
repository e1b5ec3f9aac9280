import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { projectRoot } from '../infra/compile.ts';
import type { Logger } from '../infra/logger.ts';
import type { Timings } from '../store/timingStore.ts';
import { requireToken, safeEqual, sameOriginOnly, sessionValue, SESSION_COOKIE, SESSION_TTL_MS } from './auth.ts';
import { ApiError, toApiError } from './errors.ts';
import { LiveFeed } from './events.ts';
import { readiness } from './health.ts';
import { renderMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { register, route, type RouteDef } from './route.ts';
import { apiRoutes, isDenial, type ApiDeps, type DecisionView } from './routes.ts';

export const BULL_BOARD_PATH = '/admin/queues';

export class ServerConfigError extends Error {
  override readonly name = 'ServerConfigError';
}

export interface ServerDeps extends ApiDeps {
  host: string;
  port: number;
  token?: string | undefined;
  redis: Redis;
  queues: Queue[];
  timings: { read(): Promise<Timings> };
  /** /readyz calls the feed stale when no candle reached the ticks queue for this long. */
  feedMaxAgeMs: number;
  /** How often the dashboard's server-sent events carry a fresh snapshot (default 1 s). */
  liveIntervalMs?: number | undefined;
  log: Logger;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const NoInput = z.object({}).strict();

/** Health, metrics, the event stream and the OpenAPI document: routes outside the data API but described with it. */
function operationalRoutes(deps: ServerDeps, live: LiveFeed, document: () => Record<string, unknown>): RouteDef[] {
  const health = { redis: deps.redis, queues: deps.queues, breaker: deps.data.breaker, feedMaxAgeMs: deps.feedMaxAgeMs };
  return [
    route({
      method: 'get', path: '/healthz', tag: 'health', auth: false, summary: 'Alive: the process answers', query: NoInput,
      handler: () => ({ status: 'ok' }),
    }),
    route({
      method: 'get', path: '/readyz', tag: 'health', auth: false, errors: [503], query: NoInput,
      summary: 'Ready to trade: Redis answers, a worker serves every queue, the breaker is closed, the feed is fresh (503 with the reasons otherwise)',
      handler: async (_input, _req, res) => {
        const r = await readiness(health);
        res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not ready', problems: r.problems, checks: r.checks });
      },
    }),
    route({
      method: 'get', path: '/metrics', tag: 'health', summary: 'Prometheus metrics (text exposition format)', query: NoInput,
      responds: { type: 'text/plain', description: 'Prometheus text format 0.0.4' },
      handler: async (_input, _req, res) => {
        const m = await renderMetrics({
          queues: deps.queues,
          counters: () => deps.stats.counters(),
          timings: () => deps.timings.read(),
          breaker: deps.data.breaker,
          risk: deps.risk.report,
          botStatuses: () => deps.bots.statuses(),
        });
        res.type(m.contentType).send(m.body);
      },
    }),
    route({
      method: 'get', path: '/api/events', tag: 'state', summary: 'Server-sent events: a snapshot of the dashboard state every second', query: NoInput,
      responds: { type: 'text/event-stream' },
      handler: (_input, req, res) => live.connect(req, res),
    }),
    route({
      method: 'get', path: '/api/openapi.json', tag: 'state', summary: 'This description', query: NoInput,
      handler: () => document(),
    }),
  ];
}

function liveFeedOf(deps: ServerDeps): LiveFeed {
  const quotes = async () =>
    (await deps.risk.report()).quotes.map((q) => ({ quote: q.quote, equity: Number(q.equity), drawdown: q.drawdown ?? 0 }));
  return new LiveFeed(
    {
      log: deps.log,
      equity: quotes,
      async snapshot() {
        const [risk, breaker, counters, positions, orders, decisions] = await Promise.all([
          deps.risk.report(),
          deps.data.breaker(),
          deps.stats.counters(),
          deps.data.positions(),
          deps.data.orders(),
          deps.decisions.recent(500),
        ]);
        return {
          at: Date.now(),
          tradingState: risk.tradingState,
          breaker,
          counters,
          quotes: risk.quotes,
          positions,
          openOrders: orders.filter((o) => o.status === 'open'),
          recentOrders: orders.sort((a, b) => b.updatedAt - a.updatedAt).slice(0, 20),
          // Holds with nothing to do are most decisions; the table shows the ones that did something.
          decisions: decisions.filter((d) => d.action !== 'hold' || (d as DecisionView).risk?.verdict !== 'none').slice(0, 20),
          lastDecisions: decisions.slice(0, 10),
          denials: decisions.filter(isDenial).slice(0, 20),
        };
      },
      async slowSnapshot() {
        return { bots: await deps.bots.list(), markets: deps.data.markets() };
      },
    },
    deps.liveIntervalMs ?? 1000,
  );
}

export function createApp(deps: ServerDeps, live: LiveFeed = liveFeedOf(deps)): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  // Before anything reads a body or changes a thing: no state change from another site.
  app.use(sameOriginOnly(deps.token));

  const version = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  let routes: RouteDef[] = [];
  const document = () => openApiDocument(routes, version);
  routes = [...operationalRoutes(deps, live, document), ...apiRoutes(deps)];
  const router = express.Router();
  for (const r of routes.filter((r) => r.auth === false)) register(router, r);
  app.use(router);

  app.get('/login', (req, res) => {
    const next = typeof req.query.next === 'string' && req.query.next.startsWith('/') && !req.query.next.startsWith('//') ? req.query.next : '/';
    res.type('html').send(
      `<!doctype html><meta charset="utf-8"><title>Quorum: sign in</title>` +
        `<form method="post" action="/login"><h1>Quorum</h1><input type="hidden" name="next" value="${escapeHtml(next)}">` +
        `<label>Token <input type="password" name="token" autofocus autocomplete="current-password"></label> <button>Sign in</button></form>`,
    );
  });
  app.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const given = typeof req.body?.token === 'string' ? req.body.token : '';
    const next = typeof req.body?.next === 'string' && req.body.next.startsWith('/') && !req.body.next.startsWith('//') ? req.body.next : '/';
    if (!deps.token) return res.redirect(303, next);
    if (!safeEqual(given, deps.token)) return res.status(401).type('text').send('wrong token');
    const expires = Date.now() + SESSION_TTL_MS;
    // SameSite=Strict: a cross-site page cannot make the browser send it.
    res.cookie(SESSION_COOKIE, sessionValue(deps.token, expires), { httpOnly: true, sameSite: 'strict', maxAge: SESSION_TTL_MS, path: '/' });
    res.redirect(303, next);
  });
  app.post('/logout', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/' });
    res.redirect(303, '/login');
  });

  app.use(requireToken(deps.token));

  const board = new ExpressAdapter();
  board.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: 'Quorum' } } });
  app.use(BULL_BOARD_PATH, board.getRouter());

  const authed = express.Router();
  for (const r of routes.filter((r) => r.auth !== false)) register(authed, r);
  app.use(authed);

  // The dashboard: static HTML and JS, and the charting library from node_modules (no build step).
  const root = projectRoot();
  app.get('/vendor/lightweight-charts.js', (_req, res) => {
    res.sendFile(join(root, 'node_modules', 'lightweight-charts', 'dist', 'lightweight-charts.standalone.production.js'));
  });
  app.use(
    express.static(join(root, 'src', 'api', 'dashboard'), {
      index: 'index.html',
      // Only our own scripts run on the dashboard; it cannot be framed.
      setHeaders: (res) => res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"),
    }),
  );

  app.use((req, _res, next) => {
    const known = routes.filter((r) => matches(r.path, req.path)).map((r) => r.method.toUpperCase());
    if (known.length > 0) return next(new ApiError('METHOD_NOT_SUPPORTED', `${req.method} is not supported on ${req.path} (use ${known.join(', ')})`));
    next(new ApiError('NOT_FOUND', `no route ${req.method} ${req.path}`));
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = toApiError(error);
    if (apiError.code === 'INTERNAL_SERVER_ERROR') deps.log.error({ err: (error as Error)?.message, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return res.end();
    res.status(apiError.status).json(apiError.toJSON());
  });
  return app;
}

/** Whether an express path pattern (/api/bots/:id) matches a concrete path. */
function matches(pattern: string, path: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([A-Za-z_]+)/g, '[^/]+')}/?$`);
  return re.test(path);
}

/** Binds the server; refuses an address beyond loopback unless a token protects it. */
export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  if (!isLoopback(deps.host) && !deps.token) {
    throw new ServerConfigError(`refusing to bind to ${deps.host} without a token: set QUORUM_TOKEN (16+ characters), or bind to 127.0.0.1`);
  }
  const live = liveFeedOf(deps);
  const app = createApp(deps, live);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(deps.port, deps.host, (error?: Error) => (error ? reject(error) : resolve(s)));
    s.once('error', reject);
  });
  live.start();
  const { port } = server.address() as AddressInfo;
  const shownHost = deps.host.includes(':') ? `[${deps.host}]` : deps.host;
  return {
    url: `http://${shownHost}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        live.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
