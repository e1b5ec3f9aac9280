import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { ApiError, type ApiIssue } from './errors.ts';

/** Largest JSON body any route accepts; larger is a 413. */
export const BODY_LIMIT_BYTES = 16 * 1024;

type AnyObject = z.ZodType<Record<string, unknown>>;
type Method = 'get' | 'post' | 'put' | 'delete';

/**
 * One route: its inputs as zod schemas (params, query, body; each strict, so an unknown field
 * is a 400), what it answers, and the handler. The same definition registers the route on
 * express and describes it in the OpenAPI document, so the two cannot drift apart.
 */
export interface RouteDef<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends AnyObject = AnyObject> {
  method: Method;
  /** Express syntax (/api/bots/:id); the OpenAPI document spells it /api/bots/{id}. */
  path: string;
  summary: string;
  tag: string;
  /** False only for the health routes: everything else needs the token when one is set. */
  auth?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** Media types of a success answer (default application/json) and a schema of it, when it has a fixed shape. */
  responds?: { type?: string; schema?: z.ZodType; description?: string };
  /** Error codes this route can answer with besides bad input and no token (documented). */
  errors?: number[];
  handler(input: { params: z.infer<P>; query: z.infer<Q>; body: z.infer<B> }, req: Request, res: Response): Promise<unknown> | unknown;
}

export function route<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends AnyObject = AnyObject>(def: RouteDef<P, Q, B>): RouteDef {
  return def as unknown as RouteDef;
}

/** Parses one part of the request; every issue becomes "where.path: message". */
export function parseInput<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'params' | 'query' | 'body'): T {
  const noInput = z.object({}).strict();
  const parsed = (schema ?? (noInput as unknown as z.ZodType<T>)).safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issues: ApiIssue[] = parsed.error.issues.map((i) => {
    // An unknown field names itself in `keys`, not in `path`: say which.
    const keys = i.code === 'unrecognized_keys' ? (i as { keys: string[] }).keys : [];
    const path = [where, ...i.path.map(String)].join('.');
    return { path, message: keys.length > 0 ? `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : i.message };
  });
  throw new ApiError('BAD_REQUEST', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const json = express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: 'application/json' });

/** Registers a route: JSON body (only JSON, only as large as the limit), checked inputs, JSON answer. */
export function register(router: express.Router, def: RouteDef): void {
  router[def.method](def.path, (req, res, next) => {
    if (!hasBody(req)) return next();
    if (!def.body) return next(new ApiError('BAD_REQUEST', `${def.method.toUpperCase()} ${def.path} takes no request body`));
    if (!req.is('application/json')) return next(new ApiError('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json (got ${req.headers['content-type'] ?? 'no content type'})`));
    json(req, res, next);
  }, async (req, res) => {
    const input = {
      params: parseInput(def.params, req.params, 'params'),
      query: parseInput(def.query, req.query, 'query'),
      body: def.body ? parseInput(def.body, req.body, 'body') : {},
    };
    const out = await def.handler(input as never, req, res);
    if (!res.headersSent && !res.writableEnded) res.json(out);
  });
}
