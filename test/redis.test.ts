import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { RedisPolicyError, assertNoEviction, createRedis, freePort, hasRedisServer, isReachable, startPrivateRedis } from '../src/infra/redis.ts';
import { keyspace } from '../src/infra/keys.ts';
import { redisUrl } from './helpers/pipeline.ts';

describe('Redis', () => {
  it.skipIf(!hasRedisServer())('starts a private redis-server on a free port, with noeviction, and stops it', async () => {
    const endpoint = await startPrivateRedis();
    expect(endpoint.origin).toBe('private');
    const client = createRedis(endpoint.url);
    await expect(assertNoEviction(client)).resolves.toBeUndefined();
    await client.quit();
    await endpoint.stop();
    expect(await isReachable(endpoint.url, 300)).toBe(false);
  });

  it.skipIf(!hasRedisServer())('refuses a Redis that may evict keys, saying how to fix it', async () => {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' });
    try {
      const url = `redis://127.0.0.1:${port}`;
      for (let i = 0; i < 100 && !(await isReachable(url, 200)); i++) await new Promise((r) => setTimeout(r, 50));
      const client = createRedis(url);
      await expect(assertNoEviction(client)).rejects.toThrow(RedisPolicyError);
      await expect(assertNoEviction(client)).rejects.toThrow(/"allkeys-lru".*CONFIG SET maxmemory-policy noeviction/);
      await client.quit();
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('puts every key of a deployment under one hash tag, so that it runs on Redis Cluster', async () => {
    const keys = keyspace('desk-a');
    const samples = [keys.candles('ADA-BTC', '5m'), keys.ledger('paper'), keys.decision('ADA-BTC', '5m', 1), keys.counters, keys.lock('x')];
    const client = createRedis(redisUrl());
    const slots = await Promise.all(samples.map((k) => client.call('CLUSTER', 'KEYSLOT', k).catch(() => undefined)));
    await client.quit();
    for (const k of samples) expect(k.startsWith('{desk-a}:')).toBe(true);
    if (slots[0] !== undefined) expect(new Set(slots).size).toBe(1);
  });
});
