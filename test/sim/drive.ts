// Helpers for scenario tests: run the cluster until something holds, bounded.
import type { NodeId } from '../../raft/core/index.js';
import type { SimCluster } from './cluster.js';

/** Tick every live node and deliver everything, until `done` or `maxRounds`. */
export function runUntil(cluster: SimCluster, done: () => boolean, maxRounds = 500): boolean {
  for (let round = 0; round < maxRounds; round++) {
    if (done()) return true;
    cluster.tickAll();
    cluster.deliverAll();
    cluster.check.checkGlobal();
  }
  return done();
}

export function electLeader(cluster: SimCluster, maxRounds = 500): NodeId {
  let leader: NodeId | null = null;
  const ok = runUntil(cluster, () => {
    leader = cluster.leader();
    if (leader === null) return false;
    const term = cluster.nodes.get(leader)!.core!.status().term;
    // Everyone reachable has heard of it.
    return cluster.upIds().every((id) => {
      const s = cluster.nodes.get(id)!.core!.status();
      return s.term === term && s.leader === leader;
    }) || cluster.blocked.size > 0;
  }, maxRounds);
  if (!ok || leader === null) throw new Error('no leader elected');
  return leader;
}

/** Deliver all messages repeatedly without ticking. */
export function settle(cluster: SimCluster, rounds = 20): void {
  for (let i = 0; i < rounds; i++) {
    cluster.deliverAll();
    cluster.check.checkGlobal();
  }
}

export function status(cluster: SimCluster, id: NodeId) {
  const node = cluster.nodes.get(id)!;
  if (node.core === null) throw new Error(`${id} is down`);
  return node.core.status();
}
