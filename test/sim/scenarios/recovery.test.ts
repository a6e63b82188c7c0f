// Scenarios about crashes, restarts and catching up.
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../cluster.js';
import { electLeader, runUntil, settle, status } from '../drive.js';

function proposeMany(cluster: SimCluster, leader: string, count: number): string[] {
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const v = cluster.propose(leader);
    if (v !== null) values.push(v);
    settle(cluster, 2);
  }
  return values;
}

describe('recovery scenarios', () => {
  it('a node that crashed before persisting anything restarts empty and catches up', () => {
    const cluster = new SimCluster({ voters: 3, seed: 21 });
    cluster.crash('n3');
    const leader = electLeader(cluster);
    const values = proposeMany(cluster, leader, 3);
    expect(cluster.nodes.get('n3')!.disk.hardState.term).toBe(0);
    cluster.restart('n3');
    expect(runUntil(cluster, () => cluster.nodes.get('n3')!.values.length === values.length, 200)).toBe(true);
    expect(cluster.nodes.get('n3')!.values).toEqual(values);
  });

  it('a node that crashed with a partly persisted Ready keeps only what reached its disk', () => {
    const cluster = new SimCluster({ voters: 3, seed: 22 });
    const leader = electLeader(cluster);
    const follower = cluster.ids.find((id) => id !== leader)!;
    const values = proposeMany(cluster, leader, 2);
    cluster.propose(leader);
    // Deliver the new append to the follower but crash it halfway through persisting.
    const pending = cluster.pool.findIndex((m) => m.message.to === follower && m.message.type === 'append');
    if (pending >= 0) {
      const [item] = cluster.pool.splice(pending, 1);
      cluster.nodes.get(follower)!.core!.step(item.message);
    }
    cluster.crashMidReady(follower, 0, false);
    cluster.restart(follower);
    expect(status(cluster, follower).term).toBe(status(cluster, leader).term);
    runUntil(cluster, () => cluster.nodes.get(follower)!.values.length === values.length + 1, 300);
    expect(cluster.nodes.get(follower)!.values.slice(0, values.length)).toEqual(values);
    expect(cluster.nodes.get(follower)!.values).toEqual(cluster.nodes.get(leader)!.values);
  });

  it('a slow follower is caught up by snapshot after the leader compacted its log', () => {
    const cluster = new SimCluster({ voters: 3, seed: 23, snapshotEvery: 5, snapshotKeep: 1 });
    const leader = electLeader(cluster);
    const slow = cluster.ids.find((id) => id !== leader)!;
    cluster.crash(slow);
    const values = proposeMany(cluster, leader, 20);
    expect(status(cluster, leader).firstIndex).toBeGreaterThan(2); // compacted past what the slow node has
    cluster.restart(slow);
    expect(runUntil(cluster, () => cluster.nodes.get(slow)!.values.length === values.length, 300)).toBe(true);
    expect(cluster.nodes.get(slow)!.disk.snapshot).not.toBeNull();
    expect(cluster.nodes.get(slow)!.values).toEqual(values);
  });
});
