import { getPath, setPath } from './load.ts';
import { ConfigSchema, type Config } from './schema.ts';

export type ParameterValue = number | string | boolean;

/**
 * A parameter of a sweep, by path: a config field ("risk.kellyFraction", "coordinator.minAgreement")
 * or a bot instance's parameter ("<instance id>.<param>", e.g. "ema-fast.fast"). The result is
 * checked by the config schema (the instance's own params by its bot when it loads), so a value
 * out of range is refused with the same message a config file would get.
 */
export function withParameters(config: Config, params: Record<string, ParameterValue>): { ok: true; config: Config } | { ok: false; problems: string[] } {
  const raw = structuredClone(config) as unknown as Record<string, unknown>;
  const sections = new Set(Object.keys(ConfigSchema.shape));
  const problems: string[] = [];
  for (const [path, value] of Object.entries(params)) {
    const [head, ...rest] = path.split('.');
    if (!head || rest.length === 0) {
      problems.push(`${path}: a parameter is "<section>.<field>" or "<instance id>.<param>"`);
    } else if (sections.has(head)) {
      if (getPath(raw, path) === undefined) problems.push(`${path}: no such config field`);
      else setPath(raw, path, value);
    } else {
      const instances = (raw.bots as { instances: Array<{ id: string; params?: Record<string, unknown> }> }).instances;
      const instance = instances.find((i) => i.id === head);
      if (!instance) problems.push(`${path}: "${head}" is neither a config section nor a configured bot instance`);
      else setPath((instance.params ??= {}), rest.join('.'), value);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`) };
  return { ok: true, config: parsed.data };
}
