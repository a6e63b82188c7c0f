// Randomized deterministic simulation of 5-node clusters (SIM_RUNS, SIM_STEPS, SIM_SEED scale and replay).
import { describe, it } from 'vitest';
import { assertSimulation } from './run.js';

describe('simulation: 5 nodes', () => {
  it('keeps every safety invariant and recovers liveness after heal', () => assertSimulation(5, 500), 600_000);
});
