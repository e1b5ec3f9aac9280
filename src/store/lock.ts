import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TransientError } from '../core/errors.ts';
import { Script } from './script.ts';

const RELEASE = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** Proof of holding a lock: a write that must not outlive the lock checks it atomically (see DecisionStore). */
export interface Fence {
  key: string;
  token: string;
}

/**
 * Runs `fn` while holding a short Redis lock shared by every process. For critical sections of a
 * few milliseconds (read state, decide, write); the TTL frees the lock if its holder dies, so the
 * final write of a critical section must check the fence (a holder that stalled past the TTL
 * must not write what it decided on stale state).
 */
export async function withLock<T>(redis: Redis, key: string, fn: (fence: Fence) => Promise<T>, options: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
  const ttlMs = options.ttlMs ?? 5000;
  const waitMs = options.waitMs ?? 5000;
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  let pause = 2;
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new TransientError(`lock ${key} is still held after ${waitMs} ms`, 'lock-timeout');
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 50);
  }
  try {
    return await fn({ key, token });
  } finally {
    await RELEASE.run(redis, [key], [token]);
  }
}
