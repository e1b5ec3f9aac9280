import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyspace } from '../infra/keys.ts';
import { createRedis, type Redis } from '../infra/redis.ts';
import { AuditLog } from './auditLog.ts';

describe('audit log', () => {
  const keys = keyspace(`t-audit-${randomBytes(4).toString('hex')}`);
  let a: Redis;
  let b: Redis;

  beforeAll(() => {
    a = createRedis(inject('redisUrl'));
    b = createRedis(inject('redisUrl'));
  });
  afterAll(async () => {
    const found = await a.keys(`${keys.root}*`);
    if (found.length > 0) await a.unlink(...found);
    await Promise.all([a.quit(), b.quit()]);
  });

  it('chains appends from two processes into one sequence that verifies', async () => {
    const one = new AuditLog(a, keys);
    const two = new AuditLog(b, keys);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).append('order.placed', { i })));
    await Promise.all([one.close(), two.close()]);
    const entries = await one.entries();
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(AuditLog.verify(entries)).toEqual({ ok: true, count: 20 });
  });

  it('finds the entry that was changed, and an entry taken out', async () => {
    const entries = await new AuditLog(a, keys).entries();
    const edited = entries.map((e) => (e.seq === 7 ? { ...e, data: { i: 999 } } : e));
    expect(AuditLog.verify(edited)).toMatchObject({ ok: false, seq: 7, problem: expect.stringMatching(/does not match its hash/) });
    const removed = entries.filter((e) => e.seq !== 12);
    expect(AuditLog.verify(removed)).toMatchObject({ ok: false, seq: 13 });
  });
});
