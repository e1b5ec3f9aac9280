import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'bots/**/*.test.ts', 'processors/**/*.test.ts', 'queues/**/*.test.ts', 'test/**/*.test.ts'],
    // One real Redis for the whole run (found or started here); each test uses its own key prefix.
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
