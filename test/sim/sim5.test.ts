// Randomized deterministic simulation of 5-node clusters (SIM_RUNS, SIM_STEPS, SIM_SEED scale and replay).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { envNumber, simulationProperty, totals } from './run.js';

describe('simulation: 5 nodes', () => {
  it('keeps every safety invariant and recovers liveness after heal', () => {
    const seed = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
    fc.assert(simulationProperty(5, envNumber('SIM_STEPS', 1500)), {
      numRuns: envNumber('SIM_RUNS', 500),
      seed,
      verbose: false,
    });
    console.log(`simulation totals: ${JSON.stringify(totals)}`);
  }, 600_000);
});
