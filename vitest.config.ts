import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'raft/**/*.test.ts', 'src/**/*.test.ts', 'monitoring/**/*.test.ts'],
    // Generous: real-process tests wait on events with their own bounds; a slow CI box must not turn a slow pass into a failure.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
