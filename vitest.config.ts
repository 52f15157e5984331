import { defineConfig } from 'vitest/config';

// One runner for the whole tree. Forks (not threads) because native addons (better-sqlite3, sharp)
// and child servers behave best in their own processes; two workers for a two-core machine.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    globalSetup: ['./vitest.setup-postgres.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
