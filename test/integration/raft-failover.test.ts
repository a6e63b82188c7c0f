// Three real Raft processes on loopback: elect, replicate, kill -9 the leader
// again and again, never lose an acknowledged write, and bring restarted nodes
// back by log and (after compaction) by snapshot; the leader's reads go on while a
// follower is down.
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

  /** Write through the leader, following it if it changes (the fixture answers 421 elsewhere); returns the last leader used. */
  async function writeThrough(id: string, prefix: string, count: number): Promise<string> {
    let target = id;
    for (let i = 0; i < count; i++) {
      const key = `${prefix}-${i}`;
      const value = `${prefix}:${i}`;
      await waitUntil(async () => {
        if (await cluster.put(target, key, value)) return true;
        target = await cluster.waitLeader(5_000).catch(() => target);
        return false;
      }, { timeoutMs: 20_000, what: `write ${key}` });
      acknowledged.set(key, value);
    }
    return target;
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
      const leader = await writeThrough(await cluster.waitLeader(), `r${round}-before`, 3);
      await cluster.kill(leader);
      const next = await cluster.waitLeader();
      expect(next).not.toBe(leader);
      await writeThrough(next, `r${round}-after`, 3);
      cluster.start(leader);
      await waitUntil(async () => caughtUp(leader, await cluster.waitLeader()), { timeoutMs: 20_000, what: `${leader} to catch up in round ${round}` });
    }
    const leader = await cluster.waitLeader();
    for (const id of cluster.ids) {
      await waitUntil(() => caughtUp(id, leader), { timeoutMs: 20_000, what: `${id} to hold every acknowledged write` });
    }
  }, 60_000 + KILL_ROUNDS * 6_000);

  it('catches a restarted follower up by snapshot after the leader compacted its log', async () => {
    const first = await cluster.waitLeader();
    const follower = cluster.ids.find((id) => id !== first)!;
    await cluster.kill(follower);
    const leader = await writeThrough(first, 'compacted', 120);
    const status = await waitUntil(() => cluster.status(leader), { timeoutMs: 10_000, what: 'the leader status' });
    expect(status.snapshotIndex).toBeGreaterThan(0);
    const child = cluster.start(follower);
    await waitUntil(async () => caughtUp(follower, await cluster.waitLeader()), { timeoutMs: 30_000, what: 'the follower to catch up by snapshot' });
    // The log line travels on stdout, not ordered with the HTTP answers: wait for it.
    await waitUntil(() => child.output.join('').includes('snapshot installed'), { timeoutMs: 10_000, what: 'the snapshot-installed log line' });
  });

  it('keeps answering linearizable reads on the leader when either follower is killed', async () => {
    // The leader's read rounds ask only the follower that answered the last one first: whichever
    // it is, one of these kills takes it, and the reads after it must not hang on it.
    // A read is retried on whichever node leads by then: the follower left may have been slow to hear
    // from the leader (a node restarted by the test before), and CheckQuorum then moves leadership.
    const readOnLeader = (what: string) => waitUntil(async () => {
      const read = await cluster.get(await cluster.waitLeader(5_000), 'rk-0').catch(() => null);
      return read?.status === 200 ? read : null;
    }, { timeoutMs: 15_000, what });
    await writeThrough(await cluster.waitLeader(), 'rk', 1);
    let killed: string | null = null;
    for (let round = 0; round < 2; round++) {
      // A follower of whoever leads now, other than the one killed before: two of them in all.
      const leader = await cluster.waitLeader();
      const follower = cluster.ids.find((x) => x !== leader && x !== killed)!;
      killed = follower;
      for (let i = 0; i < 5; i++) expect(await readOnLeader(`read ${i} before ${follower} is killed`)).toEqual({ status: 200, value: 'rk:0' });
      await cluster.kill(follower);
      for (let i = 0; i < 5; i++) expect(await readOnLeader(`read ${i} while ${follower} is down`)).toEqual({ status: 200, value: 'rk:0' });
      cluster.start(follower);
      await waitUntil(async () => caughtUp(follower, await cluster.waitLeader()), { timeoutMs: 20_000, what: `${follower} to catch up` });
    }
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
