import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from './errors.ts';

export const SESSION_COOKIE = 'quorum_session';
export const SESSION_TTL_MS = 12 * 3_600_000;

/** A session cookie proves the token was presented without carrying it: expiry + HMAC keyed by the token. */
export function sessionValue(token: string, expires: number): string {
  return `${expires}.${createHmac('sha256', token).update(`quorum-session:${expires}`).digest('hex')}`;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function bearerMatches(req: Request, token: string): boolean {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') && safeEqual(header.slice(7), token);
}

function sessionMatches(req: Request, token: string): boolean {
  const session = readCookie(req, SESSION_COOKIE);
  if (!session) return false;
  const expires = Number(session.split('.')[0]);
  return Number.isFinite(expires) && expires > Date.now() && safeEqual(session, sessionValue(token, expires));
}

/** Every route but health needs the token (Bearer header) or a session obtained with it. */
export function requireToken(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!token || bearerMatches(req, token) || sessionMatches(req, token)) return next();
    // A person opening a page is sent to sign in; a program gets the error.
    if (req.method === 'GET' && !req.path.startsWith('/api/') && (req.headers.accept ?? '').includes('text/html')) {
      return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    }
    next(new ApiError('UNAUTHORIZED', 'this route needs the QUORUM_TOKEN as "Authorization: Bearer <token>" or a session cookie from POST /login'));
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery guard for every state-changing request. A browser sends what it is
 * asked to by any page, with its cookies, unless told otherwise; it always says where the request
 * comes from (Sec-Fetch-Site, Origin), and a page cannot forge those. So: a request carrying the
 * token itself (Bearer, which no page can make a browser add) passes; any other request that a
 * browser marks as coming from another site, or from another origin, is refused. The session
 * cookie is also SameSite=Strict and the API takes JSON only, so this is the third lock, and the
 * one that also covers a server running without a token on loopback.
 */
export function sameOriginOnly(token: string | undefined) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    if (token && bearerMatches(req, token)) return next();
    // Fetch metadata, where the browser sends it, decides (a form on a page served with a strict
    // referrer policy says Origin: null even to its own server); Origin is the fallback.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined) {
      if (site === 'same-origin' || site === 'none') return next();
      return next(new ApiError('FORBIDDEN', `cross-site request refused: a ${req.method} from another site (${site}) cannot change anything here`));
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const own = `${req.protocol}://${req.headers.host ?? ''}`;
      if (origin !== own) return next(new ApiError('FORBIDDEN', `cross-origin request refused: ${req.method} from origin ${origin} (this server is ${own})`));
    }
    next();
  };
}
