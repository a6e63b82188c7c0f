// The test set Stryker runs against each mutant of raft/core: the core's unit
// tests, the fixed scenarios and a reduced simulator run.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/raft-core/**/*.test.ts', 'test/sim/**/*.test.ts'],
    // That file greps the sources for purity; Stryker's instrumented copies would fail it.
    exclude: ['test/unit/raft-core/config.test.ts'],
    testTimeout: 120_000,
    env: { SIM_RUNS: process.env.SIM_RUNS ?? '40', SIM_STEPS: process.env.SIM_STEPS ?? '400' },
  },
});
