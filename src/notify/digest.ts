import { truncate, type Deliverable } from './format.ts';
import { atLeast, highest, type Priority } from './priority.ts';

/** Room a digest body may take: under every channel's limit (Discord's embed 4096, Telegram's 4096 with the title). */
export const DIGEST_BODY_MAX = 3500;

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

/**
 * One digest message of the low-priority events gathered since the last flush, as one channel
 * sees it: only the events at or above its minimum priority, each once (a retried producer may
 * have pushed one twice), oldest first (in the order pushed within one millisecond). Undefined when nothing is left for the channel.
 */
export function renderDigest(items: readonly Deliverable[], minPriority: Priority, id: string, now: number): Deliverable | undefined {
  const seen = new Set<string>();
  const kept = items
    .filter((n) => atLeast(n.priority, minPriority) && !seen.has(n.id) && seen.add(n.id))
    .sort((a, b) => a.at - b.at);
  if (kept.length === 0) return undefined;
  const lines: string[] = [];
  let used = 0;
  for (const [i, n] of kept.entries()) {
    const line = `${clock(n.at)} ${n.priority === 'info' ? '' : `[${n.priority.toUpperCase()}] `}${n.title}${n.body ? ` — ${truncate(n.body.replace(/\s+/g, ' '), 160)}` : ''}`;
    const rest = kept.length - i - 1;
    const reserve = rest > 0 ? 40 : 0;
    if (used + line.length + 1 > DIGEST_BODY_MAX - reserve) {
      lines.push(`… and ${kept.length - i} more`);
      break;
    }
    lines.push(line);
    used += line.length + 1;
  }
  const counts = new Map<string, number>();
  for (const n of kept) counts.set(n.event, (counts.get(n.event) ?? 0) + 1);
  const byEvent = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([e, c]) => `${e} ×${c}`).join(', ');
  return {
    id,
    event: 'digest',
    priority: highest(kept.map((n) => n.priority)),
    title: truncate(`Quorum digest: ${kept.length} event${kept.length === 1 ? '' : 's'} since ${clock(kept[0]!.at)} UTC (${byEvent})`, 300),
    body: lines.join('\n'),
    at: now,
  };
}
