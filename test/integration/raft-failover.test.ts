// Three real Raft processes on loopback: elect, replicate, kill -9 the leader
// again and again, never lose an acknowledged write, and bring restarted nodes
// back by log and (after compaction) by snapshot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/wait.js';
import { KvCluster } from './kv-cluster.js';

const KILL_ROUNDS = Number(process.env.KILL_ROUNDS ?? 20);

describe('raft driver with real processes', () => {
  const cluster = new KvCluster(3, 40, 5);
  const acknowledged = new Map<string, string>();

  beforeAll(async () => {
    await cluster.init();
    for (const id of cluster.ids) cluster.start(id);
  });
  afterAll(async () => {
    await cluster.close();
  });

  async function writeThrough(id: string, prefix: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const key = `${prefix}-${i}`;
      const value = `${prefix}:${i}`;
      const ok = await waitUntil(() => cluster.put(id, key, value), { timeoutMs: 15_000, what: `write ${key}` });
      if (ok) acknowledged.set(key, value);
    }
  }

  async function caughtUp(id: string, leader: string): Promise<boolean> {
    const [mine, theirs] = await Promise.all([cluster.dump(id), cluster.dump(leader)]);
    return mine.applied >= theirs.applied && [...acknowledged].every(([k, v]) => mine.map[k] === v);
  }

  it('elects a leader and replicates writes to every node', async () => {
    const leader = await cluster.waitLeader();
    await writeThrough(leader, 'first', 10);
    for (const id of cluster.ids) {
      await waitUntil(() => caughtUp(id, leader), { timeoutMs: 15_000, what: `${id} to apply the first writes` });
    }
  });

  it(`survives ${KILL_ROUNDS} kill -9s of the leader without losing an acknowledged write`, async () => {
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const leader = await cluster.waitLeader();
      await writeThrough(leader, `r${round}-before`, 3);
      await cluster.kill(leader);
      const next = await cluster.waitLeader();
      expect(next).not.toBe(leader);
      await writeThrough(next, `r${round}-after`, 3);
      cluster.start(leader);
      await waitUntil(() => caughtUp(leader, next), { timeoutMs: 20_000, what: `${leader} to catch up in round ${round}` });
    }
    const leader = await cluster.waitLeader();
    for (const id of cluster.ids) {
      await waitUntil(() => caughtUp(id, leader), { timeoutMs: 20_000, what: `${id} to hold every acknowledged write` });
    }
  });

  it('catches a restarted follower up by snapshot after the leader compacted its log', async () => {
    const leader = await cluster.waitLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(follower);
    await writeThrough(leader, 'compacted', 120);
    const status = await cluster.status(leader);
    expect(status?.snapshotIndex ?? 0).toBeGreaterThan(0);
    const child = cluster.start(follower);
    await waitUntil(() => caughtUp(follower, leader), { timeoutMs: 30_000, what: 'the follower to catch up by snapshot' });
    expect(child.output.join('')).toContain('snapshot installed');
  });

  it('serves linearizable reads on followers that include every acknowledged write', async () => {
    const leader = await cluster.waitLeader();
    await writeThrough(leader, 'linear', 5);
    for (const id of cluster.ids.filter((x) => x !== leader)) {
      for (const [key, value] of [...acknowledged].slice(-5)) {
        const read = await waitUntil(async () => {
          const r = await cluster.get(id, key);
          return r.status === 200 ? r : null;
        }, { timeoutMs: 10_000, what: `read ${key} on ${id}` });
        expect(read.value).toBe(value);
      }
    }
  });
});
