/** Key names whose values are credentials wherever they appear (the config's secrets, and the usual others). */
const SECRET_KEY = /^(api[-_]?key|api[-_]?secret|secret|password|passphrase|token|private[-_]?key|authorization)$/i;

export const MASK = '***masked***';

/**
 * A copy of a configuration with every value under a secret-looking key replaced by a mask, for
 * files that people share. The caller should pass an already-masked config; this is the second
 * lock on the door, because a report folder is exactly the kind of thing that gets mailed around.
 */
export function maskSecretValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecretValues);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== undefined && v !== null ? MASK : maskSecretValues(v)]));
}
