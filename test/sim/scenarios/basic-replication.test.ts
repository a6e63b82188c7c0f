// Elect, replicate, apply everywhere: the baseline every other scenario builds on.
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../cluster.js';
import { electLeader, runUntil, settle, status } from '../drive.js';

describe('basic replication', () => {
  it('elects one leader, commits its no-op, replicates and applies proposals on every node', () => {
    const cluster = new SimCluster({ voters: 3, seed: 1 });
    const leader = electLeader(cluster);
    expect(cluster.leaders()).toEqual([leader]);
    const values = [cluster.propose(leader), cluster.propose(leader), cluster.propose(leader)];
    expect(values.every((v) => v !== null)).toBe(true);
    settle(cluster);
    runUntil(cluster, () => cluster.ids.every((id) => cluster.nodes.get(id)!.values.length === 3), 50);
    for (const id of cluster.ids) {
      expect(cluster.nodes.get(id)!.values).toEqual(values);
      expect(status(cluster, id).commit).toBe(4); // the no-op plus three proposals
    }
  });

  it('refuses proposals on followers and names the leader', () => {
    const cluster = new SimCluster({ voters: 3, seed: 2 });
    const leader = electLeader(cluster);
    const follower = cluster.ids.find((id) => id !== leader)!;
    const result = cluster.nodes.get(follower)!.core!.propose(new Uint8Array([1]));
    expect(result).toEqual({ ok: false, reason: 'notLeader', leader });
  });

  it('a single-voter cluster elects itself and commits alone', () => {
    const cluster = new SimCluster({ voters: 1, seed: 3 });
    const leader = electLeader(cluster);
    expect(leader).toBe('n1');
    cluster.propose(leader);
    expect(cluster.nodes.get('n1')!.values).toHaveLength(1);
  });
});
