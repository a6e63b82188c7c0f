// Scenarios about membership changes and leadership transfer.
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../cluster.js';
import { electLeader, runUntil, settle, status } from '../drive.js';

describe('membership and transfer scenarios', () => {
  it('adds and promotes a member while a minority is partitioned away; everyone converges after heal', () => {
    const cluster = new SimCluster({ voters: 3, spares: 1, seed: 31 });
    const leader = electLeader(cluster);
    const cut = cluster.ids.find((id) => id !== leader && id !== 'n4')!;
    cluster.partition([[cut], cluster.ids.filter((id) => id !== cut)]);
    cluster.startSpare('n4');
    expect(cluster.nodes.get(leader)!.core!.proposeConfChange({ type: 'addLearner', node: 'n4' }).ok).toBe(true);
    cluster.process(leader);
    runUntil(cluster, () => status(cluster, leader).confState.learners.includes('n4'), 100);
    runUntil(cluster, () => (status(cluster, leader).progress.find((p) => p.id === 'n4')?.match ?? 0) >= status(cluster, leader).commit, 100);
    expect(cluster.nodes.get(leader)!.core!.proposeConfChange({ type: 'promote', node: 'n4' }).ok).toBe(true);
    cluster.process(leader);
    runUntil(cluster, () => status(cluster, leader).confState.voters.includes('n4'), 100);
    cluster.heal();
    const converged = runUntil(cluster, () => cluster.upIds().every((id) => status(cluster, id).confState.voters.length === 4), 300);
    expect(converged).toBe(true);
    expect(status(cluster, cut).confState).toEqual(status(cluster, leader).confState);
  });

  it('a leader that removes itself steps down and the rest elect a new leader', () => {
    const cluster = new SimCluster({ voters: 3, seed: 32 });
    const leader = electLeader(cluster);
    expect(cluster.nodes.get(leader)!.core!.proposeConfChange({ type: 'remove', node: leader }).ok).toBe(true);
    cluster.process(leader);
    settle(cluster);
    expect(runUntil(cluster, () => status(cluster, leader).role !== 'leader', 50)).toBe(true);
    cluster.crash(leader);
    const next = runUntil(cluster, () => cluster.leader() !== null, 300);
    expect(next).toBe(true);
    expect(status(cluster, cluster.leader()!).confState.voters).not.toContain(leader);
  });

  it('transfers leadership to a lagging follower after catching it up, refusing proposals meanwhile', () => {
    const cluster = new SimCluster({ voters: 3, seed: 33 });
    const leader = electLeader(cluster);
    const lagging = cluster.ids.find((id) => id !== leader)!;
    cluster.partition([[lagging], cluster.ids.filter((id) => id !== lagging)]);
    const written = [cluster.propose(leader), cluster.propose(leader)];
    settle(cluster);
    cluster.heal();
    const core = cluster.nodes.get(leader)!.core!;
    expect(core.transferLeader(lagging).ok).toBe(true);
    const refused = core.propose(new TextEncoder().encode('during-transfer'));
    expect(refused).toEqual({ ok: false, reason: 'transferring', leader });
    cluster.process(leader);
    expect(runUntil(cluster, () => cluster.leader() === lagging, 200)).toBe(true);
    for (const value of written) expect(cluster.nodes.get(lagging)!.values).toContain(value);
  });
});
