import { z } from 'zod';
import { API_ERROR_STATUS } from './errors.ts';
import type { RouteDef } from './route.ts';

const ErrorBody = z
  .object({
    code: z.enum(Object.keys(API_ERROR_STATUS) as [keyof typeof API_ERROR_STATUS]),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ description: 'Every error: a code (one table maps codes to statuses), what was wrong and where' });

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/** /api/bots/:id → /api/bots/{id} */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

const STATUS_TEXT: Record<number, string> = { 400: 'bad input (the message says what and where)', 401: 'no or wrong token', 403: 'cross-site request refused', 404: 'not found', 413: 'body too large', 415: 'body is not JSON', 503: 'not ready (reasons given)' };

/** The OpenAPI 3.1 document of every route, generated from the same zod schemas that check the input. */
export function openApiDocument(routes: readonly RouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const s = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, prop] of Object.entries(s.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: prop, description: (prop as { description?: string }).description });
      }
    }
    const responses: Record<string, unknown> = {
      200: {
        description: r.responds?.description ?? 'success',
        content: { [r.responds?.type ?? 'application/json']: { schema: r.responds?.schema ? jsonSchema(r.responds.schema) : {} } },
      },
    };
    const errorStatuses = new Set<number>([...(r.errors ?? [])]);
    if (r.params || r.query || r.body) errorStatuses.add(400);
    if (r.body) [413, 415].forEach((s) => errorStatuses.add(s));
    if (r.auth !== false) errorStatuses.add(401);
    if (r.method !== 'get') errorStatuses.add(403);
    for (const status of [...errorStatuses].sort()) {
      responses[status] = { description: STATUS_TEXT[status] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    (paths[openApiPath(r.path)] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
      responses,
      ...(r.auth === false ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Quorum API', version, description: 'Operate a Quorum deployment: bots, positions, orders, decisions, risk, the kill switch, exports.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'QUORUM_TOKEN' },
        session: { type: 'apiKey', in: 'cookie', name: 'quorum_session', description: 'from POST /login with the token' },
      },
      schemas: { Error: jsonSchema(ErrorBody) },
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}
