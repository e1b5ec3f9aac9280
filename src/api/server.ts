import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { Logger } from '../infra/logger.ts';
import type { StatsStore } from '../store/statsStore.ts';
import type { DecisionStore } from '../store/decisionStore.ts';
import { z } from 'zod';
import { TRADING_STATES, type TradingState, type TradingStateRecord } from '../risk/tradingState.ts';

export const BULL_BOARD_PATH = '/admin/queues';
const SESSION_COOKIE = 'quorum_session';
const SESSION_TTL_MS = 12 * 3_600_000;

export class ServerConfigError extends Error {
  override readonly name = 'ServerConfigError';
}

export interface ServerDeps {
  host: string;
  port: number;
  token?: string | undefined;
  redis: Redis;
  queues: Queue[];
  stats: StatsStore;
  decisions: DecisionStore;
  /** The kill switch and the risk figures (see src/main/riskReport.ts). */
  risk: {
    report(): Promise<unknown>;
    tradingState(): Promise<TradingStateRecord>;
    history(): Promise<TradingStateRecord[]>;
    setTradingState(state: TradingState, reason: string, by: string): Promise<TradingStateRecord>;
  };
  /** Bot instances: status, health, and taking them out of and back into service (see src/main/botControl.ts). */
  bots: {
    list(): Promise<unknown[]>;
    disable(instanceId: string, reason: string, by: string): Promise<void>;
    release(instanceId: string, by: string): Promise<unknown>;
  };
  log: Logger;
}

const InstanceId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an instance id (kebab-case)');
const DisableRequest = z.object({ reason: z.string().trim().min(1, 'say why').max(500) }).strict();

const TradingStateRequest = z
  .object({
    state: z.enum(TRADING_STATES),
    reason: z.string().trim().min(1, 'say why (it is recorded and sent to the operators)').max(500),
  })
  .strict();

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A session cookie proves the token was presented without carrying it: expiry + HMAC keyed by the token. */
function sessionValue(token: string, expires: number): string {
  return `${expires}.${createHmac('sha256', token).update(`quorum-session:${expires}`).digest('hex')}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Every route but health needs the token (Bearer header) or a session obtained with it. */
function requireToken(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!token) return next();
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Bearer ') && safeEqual(header.slice(7), token)) return next();
    const session = readCookie(req, SESSION_COOKIE);
    if (session) {
      const expires = Number(session.split('.')[0]);
      if (Number.isFinite(expires) && expires > Date.now() && safeEqual(session, sessionValue(token, expires))) return next();
    }
    if (req.method === 'GET' && req.accepts(['html', 'json']) === 'html') return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    res.status(401).json({ error: 'unauthorized', message: 'this route needs the QUORUM_TOKEN as "Authorization: Bearer <token>" or a session from POST /login' });
  };
}

export function createApp(deps: ServerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const problems: string[] = [];
    try {
      if ((await deps.redis.ping()) !== 'PONG') problems.push('redis did not answer PONG');
    } catch (error) {
      problems.push(`redis unreachable: ${(error as Error).message}`);
    }
    if (problems.length === 0) {
      for (const queue of deps.queues) {
        const workers = await queue.getWorkersCount().catch(() => 0);
        if (workers === 0) problems.push(`no worker serves queue "${queue.name}"`);
      }
    }
    res.status(problems.length === 0 ? 200 : 503).json({ status: problems.length === 0 ? 'ready' : 'not ready', problems });
  });

  app.get('/login', (req, res) => {
    const next = typeof req.query.next === 'string' && req.query.next.startsWith('/') ? req.query.next : '/';
    res.type('html').send(
      `<!doctype html><title>Quorum login</title><form method="post" action="/login"><input type="hidden" name="next" value="${escapeHtml(next)}">` +
        `<label>Token <input type="password" name="token" autofocus></label> <button>Sign in</button></form>`,
    );
  });
  app.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const given = typeof req.body?.token === 'string' ? req.body.token : '';
    const next = typeof req.body?.next === 'string' && req.body.next.startsWith('/') && !req.body.next.startsWith('//') ? req.body.next : '/';
    if (!deps.token) return res.redirect(303, next);
    if (!safeEqual(given, deps.token)) return res.status(401).type('text').send('wrong token');
    const expires = Date.now() + SESSION_TTL_MS;
    // SameSite=Strict: a cross-site page cannot make the browser send it, so state changes are CSRF-safe.
    res.cookie(SESSION_COOKIE, sessionValue(deps.token, expires), { httpOnly: true, sameSite: 'strict', maxAge: SESSION_TTL_MS, path: '/' });
    res.redirect(303, next);
  });

  app.use(requireToken(deps.token));

  const board = new ExpressAdapter();
  board.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: 'Quorum' } } });
  app.use(BULL_BOARD_PATH, board.getRouter());

  app.get('/api/summary', async (_req, res) => {
    res.json({ counters: await deps.stats.counters(), recentDecisions: await deps.decisions.recent(20), rejections: await deps.stats.rejections(20) });
  });

  app.get('/api/risk', async (_req, res) => {
    res.json(await deps.risk.report());
  });

  app.get('/api/trading-state', async (_req, res) => {
    res.json({ current: await deps.risk.tradingState(), history: await deps.risk.history() });
  });

  // JSON only: a cross-site form cannot send application/json without a CORS preflight we never grant.
  app.post('/api/trading-state', express.json({ limit: '4kb' }), async (req, res) => {
    if (!req.is('application/json')) return res.status(415).json({ error: 'unsupported_media_type', message: 'send the body as application/json' });
    const parsed = TradingStateRequest.safeParse(req.body);
    if (!parsed.success) {
      return res.status(400).json({ error: 'bad_request', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
    }
    const record = await deps.risk.setTradingState(parsed.data.state, parsed.data.reason, 'api');
    res.json({ current: record });
  });

  app.get('/api/bots', async (_req, res) => {
    res.json({ instances: await deps.bots.list() });
  });

  app.post('/api/bots/:id/:action', express.json({ limit: '4kb' }), async (req, res) => {
    const id = InstanceId.safeParse(req.params.id);
    if (!id.success) return res.status(400).json({ error: 'bad_request', message: `instance: ${id.error.issues[0]!.message}` });
    const action = req.params.action;
    if (action !== 'disable' && action !== 'release') return res.status(404).json({ error: 'not_found', message: `no action "${action}": use disable or release` });
    if (action === 'disable' && !req.is('application/json')) return res.status(415).json({ error: 'unsupported_media_type', message: 'send the body as application/json' });
    try {
      if (action === 'disable') {
        const body = DisableRequest.safeParse(req.body);
        if (!body.success) return res.status(400).json({ error: 'bad_request', message: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
        await deps.bots.disable(id.data, body.data.reason, 'api');
        return res.json({ instance: id.data, status: 'disabled' });
      }
      return res.json({ instance: id.data, status: 'running', ...((await deps.bots.release(id.data, 'api')) as object) });
    } catch (error) {
      if ((error as Error).name === 'UnknownInstanceError') return res.status(404).json({ error: 'not_found', message: (error as Error).message });
      throw error;
    }
  });

  app.get('/', async (_req, res) => {
    const counters = await deps.stats.counters();
    const rows = Object.entries(counters)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${v}</td></tr>`)
      .join('');
    res.type('html').send(
      `<!doctype html><meta charset="utf-8"><title>Quorum</title><h1>Quorum</h1>` +
        `<p><a href="${BULL_BOARD_PATH}">Bull Board</a> · <a href="/api/summary">summary (JSON)</a> · <a href="/readyz">readiness</a></p>` +
        `<table><thead><tr><th>counter</th><th>value</th></tr></thead><tbody>${rows}</tbody></table>`,
    );
  });

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `no route ${req.method} ${req.path}` });
  });
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) deps.log.error({ err: error.message }, 'request failed');
    res.status(status).json({ error: status === 500 ? 'internal' : 'bad_request', message: status === 500 ? 'internal error' : error.message });
  });
  return app;
}

/** Binds the server; refuses an address beyond loopback unless a token protects it. */
export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  if (!isLoopback(deps.host) && !deps.token) {
    throw new ServerConfigError(`refusing to bind to ${deps.host} without a token: set QUORUM_TOKEN (16+ characters), or bind to 127.0.0.1`);
  }
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(deps.port, deps.host, (error?: Error) => (error ? reject(error) : resolve(s)));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = deps.host.includes(':') ? `[${deps.host}]` : deps.host;
  return {
    url: `http://${shownHost}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
