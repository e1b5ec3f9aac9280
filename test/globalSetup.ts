import type { TestProject } from 'vitest/node';
import { resolveRedis, type RedisEndpoint } from '../src/infra/redis.ts';

let endpoint: RedisEndpoint | undefined;

/** Finds Redis the way `npm start` does (REDIS_URL, 127.0.0.1:6379, else a private redis-server). */
export async function setup(project: TestProject): Promise<void> {
  endpoint = await resolveRedis({ url: process.env.REDIS_URL, startPrivate: true });
  project.provide('redisUrl', endpoint.url);
}

export async function teardown(): Promise<void> {
  await endpoint?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
