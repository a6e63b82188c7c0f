// Raft paper Figure 8: a leader must not commit an entry of an earlier term by
// counting replicas; only its own-term entries commit that way (§5.4.2).
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../cluster.js';
import { electLeader, runUntil, settle, status } from '../drive.js';

describe('Raft paper Figure 8', () => {
  it('an old-term entry on a majority is not committed until an entry of the current term is', () => {
    const cluster = new SimCluster({ voters: 5, seed: 8 });
    const s1 = electLeader(cluster);
    const others = cluster.ids.filter((id) => id !== s1);
    const [s2, s3, s4, s5] = others;
    // (a) S1 leads and replicates X only to S2.
    cluster.partition([[s1, s2], [s3, s4, s5]]);
    const x = cluster.propose(s1);
    settle(cluster);
    expect(x).not.toBeNull();
    const xIndex = status(cluster, s1).lastIndex;
    expect(status(cluster, s1).commit).toBeLessThan(xIndex);
    // (b) S1 crashes; S5 wins with votes from S3, S4 and appends Y at the same index, which nobody receives.
    cluster.crash(s1);
    cluster.partition([[s2], [s3, s4, s5]]);
    for (let i = 0; i < cluster.options.electionTicksMax; i++) for (const id of [s3, s4]) cluster.tick(id);
    cluster.pool = [];
    const second = s5;
    cluster.nodes.get(second)!.core!.campaign();
    cluster.process(second);
    const votesOnly = () => {
      for (let n = 0; n < 100; n++) {
        const at = cluster.pool.findIndex((m) => /vote/i.test(m.message.type));
        if (at < 0) return;
        cluster.deliver(at);
      }
    };
    votesOnly();
    expect(status(cluster, second).role).toBe('leader');
    cluster.propose(second);
    cluster.pool = []; // Y and the no-op never leave S5
    // (c) The second leader crashes; S1 restarts and is elected by S2 and the nodes that lack the second leader's entries.
    cluster.crash(second);
    cluster.restart(s1);
    cluster.heal();
    const voters = [s1, s2, s3, s4, s5].filter((id) => id !== second);
    cluster.partition([voters, [second]]);
    cluster.nodes.get(s1)!.core!.campaign();
    cluster.process(s1);
    // Deliver only S1's messages to S3 once: X reaches a majority (S1, S2, S3) in the same batch as the new-term no-op.
    runUntil(cluster, () => status(cluster, s1).role === 'leader', 300);
    const term = status(cluster, s1).term;
    expect(term).toBeGreaterThan(status(cluster, s2).term - 1);
    settle(cluster);
    // X commits only together with (never before) an entry of S1's current term.
    const commit = status(cluster, s1).commit;
    expect(commit).toBeGreaterThanOrEqual(xIndex);
    const committedTerms = cluster.nodes.get(s1)!.core!.entries(xIndex, commit + 1).map((e) => e.term);
    expect(committedTerms.at(-1)).toBe(term);
    // (d) Whatever happens next, X stays: the second leader cannot be elected any more.
    cluster.crash(s1);
    cluster.restart(second);
    cluster.heal();
    runUntil(cluster, () => cluster.leader() !== null, 300);
    expect(cluster.leader()).not.toBe(second);
    runUntil(cluster, () => cluster.upIds().every((id) => cluster.nodes.get(id)!.values.includes(x!)), 300);
    for (const id of cluster.upIds()) expect(cluster.nodes.get(id)!.values).toContain(x);
  });
});
