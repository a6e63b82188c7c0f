// Scenarios about who may lead: PreVote, CheckQuorum, stale reads, vote rules.
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../cluster.js';
import { electLeader, runUntil, settle, status } from '../drive.js';

describe('leadership scenarios', () => {
  it('a partitioned node rejoining does not disturb a healthy leader (PreVote)', () => {
    const cluster = new SimCluster({ voters: 3, seed: 11 });
    const leader = electLeader(cluster);
    const term = status(cluster, leader).term;
    const loner = cluster.ids.find((id) => id !== leader)!;
    cluster.partition([[loner], cluster.ids.filter((id) => id !== loner)]);
    for (let i = 0; i < 100; i++) { cluster.tickAll(); cluster.deliverAll(); }
    expect(status(cluster, loner).term).toBe(term); // pre-votes never bump the term
    cluster.heal();
    for (let i = 0; i < 50; i++) { cluster.tickAll(); cluster.deliverAll(); }
    expect(cluster.leader()).toBe(leader);
    expect(status(cluster, leader).term).toBe(term);
  });

  it('a leader cut off from the majority steps down (CheckQuorum)', () => {
    const cluster = new SimCluster({ voters: 3, seed: 12 });
    const leader = electLeader(cluster);
    cluster.partition([[leader], cluster.ids.filter((id) => id !== leader)]);
    const stepped = runUntil(cluster, () => status(cluster, leader).role !== 'leader', 3 * cluster.options.electionTicksMax);
    expect(stepped).toBe(true);
  });

  it('a deposed leader does not serve a stale read', () => {
    const cluster = new SimCluster({ voters: 3, seed: 13 });
    const old = electLeader(cluster);
    cluster.partition([[old], cluster.ids.filter((id) => id !== old)]);
    // Asked while it still believes it leads: the read needs a majority's heartbeat acks it cannot get.
    expect(status(cluster, old).role).toBe('leader');
    const before = cluster.check.readsCompleted;
    cluster.read(old);
    const ok = runUntil(cluster, () => cluster.leaders().some((id) => id !== old), 200);
    expect(ok).toBe(true);
    const fresh = cluster.leaders().find((id) => id !== old)!;
    const value = cluster.propose(fresh);
    expect(value).not.toBeNull();
    for (let i = 0; i < 50; i++) { cluster.tickAll(); cluster.deliverAll(); }
    expect(cluster.check.readsCompleted).toBe(before);
    expect(status(cluster, old).role).not.toBe('leader');
    expect(cluster.nodes.get(old)!.values).not.toContain(value);
  });

  it('a follower still with the deposed leader of five gets no stale read', () => {
    // The old leader and one follower are cut off but do not tick, so CheckQuorum has not
    // deposed it yet; the other three elect a leader and commit a write. The follower's
    // request plus the old leader are two of five: not enough to answer without heartbeats.
    const cluster = new SimCluster({ voters: 5, seed: 15 });
    const old = electLeader(cluster);
    const [follower, ...rest] = cluster.ids.filter((id) => id !== old);
    cluster.partition([[old, follower], rest]);
    for (let round = 0; round < 200 && !rest.some((id) => status(cluster, id).role === 'leader'); round++) {
      for (const id of rest) cluster.tick(id);
      cluster.deliverAll();
    }
    const fresh = rest.find((id) => status(cluster, id).role === 'leader')!;
    expect(fresh).toBeDefined();
    expect(cluster.propose(fresh)).not.toBeNull();
    settle(cluster); // committed and acknowledged by the new majority
    expect(status(cluster, old).role).toBe('leader');
    const before = cluster.check.readsCompleted;
    cluster.read(follower); // must see the write: answered stale, the invariants throw
    settle(cluster);
    expect(cluster.check.readsCompleted).toBe(before);
  });

  it('votes are granted only to candidates whose log is at least as up to date', () => {
    const cluster = new SimCluster({ voters: 3, seed: 14 });
    const leader = electLeader(cluster);
    const [a, b] = cluster.ids.filter((id) => id !== leader);
    cluster.partition([[leader, a], [b]]);
    cluster.propose(leader);
    cluster.propose(leader);
    settle(cluster);
    // b missed two entries; a is up to date. If b campaigns, a must refuse.
    cluster.crash(leader);
    cluster.heal();
    cluster.nodes.get(b)!.core!.campaign();
    cluster.process(b);
    settle(cluster);
    runUntil(cluster, () => cluster.leader() !== null, 300);
    expect(cluster.leader()).toBe(a);
    expect(status(cluster, a).lastIndex).toBeGreaterThanOrEqual(3);
  });
});
