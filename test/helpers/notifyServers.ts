import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

// Local receivers for the notification channels (test code only): one HTTP server standing in for
// Telegram, Discord, Slack and a webhook receiver, and a real SMTP server. Both record exactly
// what arrived; each HTTP route can be told to answer, fail, throttle or hang.

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  at: number;
}

/** How a route answers: 200/204, a status with a body, 429 with Retry-After, or no answer at all. */
export type Behaviour = { kind: 'ok'; status?: number; body?: string } | { kind: 'status'; status: number; body: string } | { kind: 'throttle'; retryAfterSeconds: number; then: number } | { kind: 'hang' };

export class HttpReceiver {
  readonly received: Received[] = [];
  /** Behaviour per first path segment ("tg", "discord", "slack", "hook"); default ok. */
  readonly behaviour: Record<string, Behaviour> = {};
  private readonly hanging = new Set<ServerResponse>();
  private readonly throttled = new Map<string, number>();
  private server: Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.answer(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  on(route: string): Received[] {
    return this.received.filter((r) => r.path.split('/')[1] === route);
  }

  private answer(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const path = req.url ?? '/';
    this.received.push({ path, headers: req.headers, raw, at: Date.now() });
    const route = path.split('/')[1] ?? '';
    const b = this.behaviour[route] ?? { kind: 'ok' };
    if (b.kind === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (b.kind === 'throttle') {
      const n = this.throttled.get(route) ?? 0;
      this.throttled.set(route, n + 1);
      if (n < b.then) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(b.retryAfterSeconds) });
        res.end(JSON.stringify({ message: 'You are being rate limited.', retry_after: b.retryAfterSeconds }));
        return;
      }
      res.writeHead(204).end();
      return;
    }
    if (b.kind === 'status') {
      res.writeHead(b.status, { 'content-type': 'application/json' }).end(b.body);
      return;
    }
    const status = b.status ?? (route === 'discord' ? 204 : 200);
    res.writeHead(status, { 'content-type': 'application/json' }).end(status === 204 ? undefined : (b.body ?? (route === 'tg' ? '{"ok":true,"result":{}}' : 'ok')));
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

export interface Mail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
  subject: string;
  text: string;
  headers: Record<string, string>;
  at: number;
}

/** A real SMTP server (smtp-server) that requires a login and keeps every message. */
export class SmtpReceiver {
  readonly mails: Mail[] = [];
  port = 0;
  private server: SMTPServer | undefined;

  constructor(private readonly login: { user: string; pass: string }) {}

  async start(): Promise<this> {
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authOptional: false,
      logger: false,
      onAuth: (auth, _session, cb) => {
        if (auth.username === this.login.user && auth.password === this.login.pass) cb(null, { user: auth.username });
        else cb(new Error('Invalid username or password'));
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const [head = '', ...rest] = raw.split('\r\n\r\n');
          const headers: Record<string, string> = {};
          for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
            const i = line.indexOf(':');
            if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
          }
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
            raw,
            subject: headers.subject ?? '',
            text: decodeBody(rest.join('\r\n\r\n'), headers['content-transfer-encoding']).replace(/\r\n/g, '\n'),
            headers,
            at: Date.now(),
          });
          cb();
        });
      },
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

/** A port on which nothing listens (taken, then given back). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A mail body as written: quoted-printable and base64 decoded (nodemailer picks one for non-ASCII text). */
function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding?.toLowerCase() === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding?.toLowerCase() !== 'quoted-printable') return body;
  const unfolded = body.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < unfolded.length; i++) {
    const hex = unfolded.slice(i + 1, i + 3);
    if (unfolded[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(unfolded[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
