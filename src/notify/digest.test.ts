import { describe, expect, it } from 'vitest';
import { DIGEST_BODY_MAX, renderDigest } from './digest.ts';
import type { Deliverable } from './format.ts';

const at = Date.UTC(2026, 0, 2, 10, 0, 0);
const ev = (i: number, over: Partial<Deliverable> = {}): Deliverable => ({ id: `e${i}`, event: 'order.filled', priority: 'info', title: `buy ${i} ADA filled`, body: `order qb-${i}`, at: at + i * 1000, ...over });

describe('digests', () => {
  it('batches events oldest first into one message that counts them by event', () => {
    const d = renderDigest([ev(2), ev(1), ev(3, { event: 'bot.released', title: 'bot x released', body: '' })], 'info', 'digest-1', at + 60_000)!;
    expect(d).toMatchObject({ id: 'digest-1', event: 'digest', priority: 'info', at: at + 60_000 });
    expect(d.title).toBe('Quorum digest: 3 events since 10:00:01 UTC (order.filled ×2, bot.released ×1)');
    expect(d.body.split('\n')).toEqual(['10:00:01 buy 1 ADA filled — order qb-1', '10:00:02 buy 2 ADA filled — order qb-2', '10:00:03 bot x released']);
  });

  it('keeps only what a channel takes, and nothing at all when nothing is left', () => {
    const items = [ev(1), ev(2, { priority: 'warning', title: 'drift' })];
    const d = renderDigest(items, 'warning', 'd', at)!;
    expect(d.priority).toBe('warning');
    expect(d.body).toBe('10:00:02 [WARNING] drift — order qb-2');
    expect(renderDigest([ev(1)], 'error', 'd', at)).toBeUndefined();
    expect(renderDigest([], 'info', 'd', at)).toBeUndefined();
  });

  it('lists an event pushed twice once', () => {
    expect(renderDigest([ev(1), ev(1)], 'info', 'd', at)!.title).toMatch(/^Quorum digest: 1 event since/);
  });

  it('stays under every channel limit and says how many more there were', () => {
    const many = Array.from({ length: 500 }, (_, i) => ev(i, { body: 'y'.repeat(150) }));
    const d = renderDigest(many, 'info', 'd', at)!;
    expect(d.body.length).toBeLessThanOrEqual(DIGEST_BODY_MAX);
    expect(d.body).toMatch(/… and \d+ more$/);
    expect(d.title).toMatch(/^Quorum digest: 500 events/);
  });
});
