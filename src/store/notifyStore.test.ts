import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyspace } from '../infra/keys.ts';
import { createRedis, deleteDeploymentKeys, type Redis } from '../infra/redis.ts';
import { NotifyStore } from './notifyStore.ts';

const prefix = `t-notifystore-${randomBytes(4).toString('hex')}`;
const clients: Redis[] = [];

/** A store on its own connection, as another worker process would have. */
function store(): NotifyStore {
  const redis = createRedis(inject('redisUrl'));
  clients.push(redis);
  return new NotifyStore(redis, keyspace(prefix));
}

let a: NotifyStore;
let b: NotifyStore;
beforeAll(() => {
  a = store();
  b = store();
});
afterAll(async () => {
  await deleteDeploymentKeys(clients[0]!, prefix);
  await Promise.all(clients.map((c) => c.quit()));
});

describe('notification store', () => {
  it('lets exactly one of many racing workers claim a dedupe key within the window', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim('race', `msg-${i}`, 10_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('lets the message that claimed a key claim it again (a retried job is not its own duplicate)', async () => {
    expect(await a.claim('retry', 'msg-1', 10_000)).toBe(true);
    expect(await b.claim('retry', 'msg-1', 10_000)).toBe(true);
    expect(await b.claim('retry', 'msg-2', 10_000)).toBe(false);
  });

  it('frees a key when its window has passed, and never blocks with a window of 0', async () => {
    expect(await a.claim('short', 'msg-1', 50)).toBe(true);
    expect(await a.claim('short', 'msg-2', 50)).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(await a.claim('short', 'msg-2', 50)).toBe(true);
    expect(await a.claim('off', 'x', 0)).toBe(true);
    expect(await a.claim('off', 'y', 0)).toBe(true);
  });

  it('hands a digest to one flush, gives a retried flush the same items, and keeps later events for the next', async () => {
    await a.pushDigest({ id: 'e1' }, 100);
    await a.pushDigest({ id: 'e2' }, 100);
    expect(await b.takeDigest('flush-1')).toEqual([{ id: 'e1' }, { id: 'e2' }]);
    await a.pushDigest({ id: 'e3' }, 100);
    expect(await a.takeDigest('flush-1')).toEqual([{ id: 'e1' }, { id: 'e2' }]);
    await a.finishDigest('flush-1');
    expect(await b.takeDigest('flush-2')).toEqual([{ id: 'e3' }]);
    await b.finishDigest('flush-2');
    expect(await b.takeDigest('flush-3')).toEqual([]);
  });

  it('keeps only the newest events of a digest past its size', async () => {
    for (let i = 0; i < 5; i++) await a.pushDigest({ id: `k${i}` }, 3);
    expect(await a.pendingDigestLength()).toBe(3);
    expect(await a.takeDigest('flush-k')).toEqual([{ id: 'k2' }, { id: 'k3' }, { id: 'k4' }]);
  });
});
