// One simulator run: apply the commands with every safety check, then heal and
// check liveness. Also the fast-check property wrapper shared by sim3/sim5.
import fc from 'fast-check';
import type { NodeId } from '../../raft/core/index.js';
import { SimCluster } from './cluster.js';
import { applyCommand, commandArbitrary, describeCommand, type Command } from './commands.js';

export interface RunStats { commands: number; committed: number; writes: number; reads: number }

export function simulate(voters: number, seed: number, commands: readonly Command[]): RunStats {
  const cluster = new SimCluster({ voters, spares: 1, seed });
  for (const command of commands) {
    applyCommand(cluster, command);
    cluster.check.checkGlobal();
  }
  checkLiveness(cluster);
  return {
    commands: commands.length, committed: cluster.check.committedCount,
    writes: cluster.check.writesAcknowledged, reads: cluster.check.readsCompleted,
  };
}

/** After healing with every member up, a leader appears and everyone catches up. */
export function checkLiveness(cluster: SimCluster): void {
  cluster.heal();
  // Bring back every node a configuration still counts on: initial voters, nodes that
  // persisted a term, and members (e.g. a spare promoted, then crashed before it wrote anything).
  const counted = new Set<NodeId>();
  for (const node of cluster.nodes.values()) {
    const conf = node.core?.status().confState;
    for (const id of [...(conf?.voters ?? []), ...(conf?.learners ?? [])]) counted.add(id);
  }
  for (const id of cluster.ids) {
    const node = cluster.nodes.get(id)!;
    node.rate = 1;
    if (node.core === null && (cluster.initialVoters.includes(id) || node.disk.hardState.term > 0 || counted.has(id))) cluster.restart(id);
  }
  const timeout = cluster.options.electionTicksMax;
  const budget = 10 * timeout;
  let leader: NodeId | null = null;
  for (let round = 0; round < budget && leader === null; round++) {
    cluster.tickAll();
    cluster.deliverAll();
    leader = stableLeader(cluster);
  }
  if (leader === null) throw new Error(`liveness: no leader within ${budget} ticks after heal`);
  // A proposal of the new leader's term lets every member apply up to its commit.
  for (let round = 0; round < budget; round++) {
    const current = stableLeader(cluster);
    if (current !== null && caughtUp(cluster, current)) return;
    cluster.tickAll();
    cluster.deliverAll();
  }
  throw new Error(`liveness: members did not apply the leader's commit within ${budget} ticks`);
}

function members(cluster: SimCluster, leader: NodeId): NodeId[] {
  const conf = cluster.nodes.get(leader)!.core!.status().confState;
  return [...conf.voters, ...conf.learners];
}

function stableLeader(cluster: SimCluster): NodeId | null {
  const leader = cluster.leader();
  if (leader === null) return null;
  const term = cluster.nodes.get(leader)!.core!.status().term;
  const voters = cluster.nodes.get(leader)!.core!.status().confState.voters;
  const agree = voters.filter((id) => cluster.nodes.get(id)?.core?.status().term === term).length;
  return agree * 2 > voters.length ? leader : null;
}

function caughtUp(cluster: SimCluster, leader: NodeId): boolean {
  const commit = cluster.nodes.get(leader)!.core!.status().commit;
  return members(cluster, leader).every((id) => {
    const node = cluster.nodes.get(id)!;
    return node.core === null || node.applied >= commit;
  });
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

/** Totals across runs, reported by the tests. */
export const totals = { runs: 0, commands: 0, writes: 0, reads: 0 };

/** The property: any command sequence keeps every invariant and ends live. */
export function simulationProperty(voters: number, maxCommands: number) {
  return fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    fc.array(commandArbitrary(voters + 1), { minLength: Math.min(50, maxCommands), maxLength: maxCommands, size: 'max' }),
    (seed, commands) => {
      try {
        const stats = simulate(voters, seed, commands);
        totals.runs++;
        totals.commands += stats.commands;
        totals.writes += stats.writes;
        totals.reads += stats.reads;
      } catch (error) {
        const path = commands.map(describeCommand).join(' ');
        throw new Error(`${(error as Error).message}\n  cluster seed ${seed}, ${commands.length} commands: ${path}`);
      }
    });
}

/**
 * The fast-check seed: fixed by default so `npm test` is deterministic (a run that
 * passed once passes again); SIM_SEED=N replays N, SIM_SEED=random explores new ones.
 */
function simSeed(voters: number): number | undefined {
  const raw = process.env.SIM_SEED;
  if (raw === 'random') return undefined;
  if (raw === undefined || raw === '') return 20_261_123 + voters;
  return envNumber('SIM_SEED', 0);
}

/** Run the property for `voters` with the environment's scale; prints the totals. */
export function assertSimulation(voters: number, defaultRuns: number): void {
  fc.assert(simulationProperty(voters, envNumber('SIM_STEPS', 1500)), {
    numRuns: envNumber('SIM_RUNS', defaultRuns),
    seed: simSeed(voters),
    verbose: false,
    // SIM_NO_SHRINK=1 reports the first failing run as found (fast triage of long runs).
    endOnFailure: process.env.SIM_NO_SHRINK === '1',
  });
  console.log(`simulation totals (${voters} nodes): ${JSON.stringify(totals)}`);
}
