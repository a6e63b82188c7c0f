// Randomized deterministic simulation of 3-node clusters (SIM_RUNS, SIM_STEPS, SIM_SEED scale and replay).
import { describe, it } from 'vitest';
import { assertSimulation } from './run.js';

describe('simulation: 3 nodes', () => {
  it('keeps every safety invariant and recovers liveness after heal', () => assertSimulation(3, 1000), 600_000);
});
