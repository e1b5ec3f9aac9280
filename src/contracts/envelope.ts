import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * Every queue message carries an envelope: which schema and version it follows, a unique id, and
 * when it was made. A consumer refuses a version it does not know instead of misreading it.
 */
export function envelope<Name extends string, Shape extends z.ZodRawShape>(schema: Name, version: number, shape: Shape) {
  return z
    .object({
      schema: z.literal(schema),
      v: z.literal(version),
      id: z.string().min(1).max(100),
      at: z.number().int().nonnegative(),
      ...shape,
    })
    .strict();
}

export function stamp<Name extends string, V extends number>(schema: Name, v: V, now: number, id: string = randomUUID()) {
  return { schema, v, id, at: now };
}

/** One line naming every problem of a payload: "candle.high: expected number, received string; ...". */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${issue.path.map(String).join('.') || '(payload)'}: ${issue.message}`)
    .join('; ');
}
