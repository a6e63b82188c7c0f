// Three `concord server` processes on loopback, started from config files: writes
// through every node (followers forward), linearizable reads on followers, kill -9
// of the leader, restart and catch-up, and equal state checksums once quiet.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerCluster } from '../helpers/server-cluster.js';
import { settled, waitUntil } from '../helpers/wait.js';

describe('concord server cluster', () => {
  const cluster = new ServerCluster(3);
  const { ids } = cluster;
  const call = cluster.call.bind(cluster);

  beforeAll(async () => {
    await cluster.init();
    cluster.startAll();
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('accepts writes on every node, survives kill -9 of the leader and converges', async () => {
    const created: string[] = [];
    await cluster.leader();
    for (const id of ids) {
      const res = await waitUntil(async () => {
        const r = await call(id, 'POST', '/api/v1/tasks', { kind: `via-${id}` });
        return r.status === 201 ? r : null;
      }, { timeoutMs: 15_000, what: `a write through ${id}` });
      created.push(res.body.id);
    }
    for (const id of ids) {
      for (const task of created) expect((await settled(() => call(id, 'GET', `/api/v1/tasks/${task}`), `${task} on ${id}`)).status).toBe(200);
    }
    const old = await cluster.leader();
    await cluster.stop(old, 'SIGKILL');
    const next = await cluster.leader();
    expect(next).not.toBe(old);
    const after = await waitUntil(async () => {
      const r = await call(next, 'POST', '/api/v1/tasks', { kind: 'after-failover' });
      return r.status === 201 ? r : null;
    }, { timeoutMs: 15_000, what: 'a write after failover' });
    cluster.start(old);
    await waitUntil(async () => (await call(old, 'GET', `/api/v1/tasks/${after.body.id}`).catch(() => null))?.status === 200,
      { timeoutMs: 30_000, what: 'the restarted node to catch up' });
    const checksums = await waitUntil(async () => {
      const sums = await Promise.all(ids.map(async (id) => (await call(id, 'GET', '/api/health/state_checksum')).body));
      const same = sums.every((s) => s.checksum === sums[0].checksum && s.applied_index === sums[0].applied_index);
      return same ? sums : null;
    }, { timeoutMs: 30_000, what: 'equal checksums' });
    expect(new Set(checksums.map((s: { checksum: string }) => s.checksum)).size).toBe(1);
  });

  it('hands leadership to the most caught-up live voter on request, also when asked through a follower', async () => {
    const leader = await cluster.leader();
    const follower = ids.find((id) => id !== leader)!;
    const moved = await settled(() => call(follower, 'POST', '/api/cluster/transfer-leadership', {}), 'a transfer through a follower');
    expect(moved.status).toBe(200);
    expect(moved.body.leader).not.toBe(leader);
    expect(await cluster.leader()).toBe(moved.body.leader);
  });

  it('answers lease reads on the leader from its read lease, and a follower\'s through the leader\'s lease, with every acknowledged write', async () => {
    const counter = async (id: string, name: string) => {
      const text = await (await request(`${cluster.origin(id)}/metrics`)).body.text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    };
    const leader = await cluster.leader();
    const follower = ids.find((id) => id !== leader)!;
    // Lease reads right after writes: each acknowledged write must be there (on the leader this
    // checks the lease path works end to end; the unit tests of ReadPath and ReadLease check when
    // it may be used). The first takes a round (no lease yet); once one is confirmed, later ones
    // come from the lease. Failures are collected, not thrown: waitUntil retries on a throw.
    const written: string[] = [];
    const failures: string[] = [];
    await waitUntil(async () => {
      const write = await call(leader, 'POST', '/api/v1/tasks', { kind: 'lease' });
      if (write.status !== 201) failures.push(`write answered ${write.status}`);
      else written.push(write.body.id);
      for (const task of written.slice(-3)) {
        const read = await request(`${cluster.origin(leader)}/api/v1/tasks/${task}?consistency=lease`);
        const body = await read.body.json() as { id?: string };
        if (read.statusCode !== 200 || read.headers['x-concord-consistency'] !== 'lease' || body.id !== task) {
          failures.push(`lease read of ${task}: ${read.statusCode} ${JSON.stringify(body)}`);
        }
      }
      return failures.length > 0 || await counter(leader, 'concord_raft_lease_reads_total') > 0;
    }, { timeoutMs: 15_000, intervalMs: 1, what: 'a lease read answered from the lease' });
    expect(failures).toEqual([]);
    expect(await counter(leader, 'concord_raft_lease_reads_total')).toBeGreaterThan(0);
    expect(await counter(leader, 'concord_raft_read_index_rounds_total')).toBeGreaterThan(0);
    // A follower holds no lease: its lease reads take a round of their own, which the leader
    // answers from its lease when it holds one (renewed just before by a linearizable read there,
    // which itself is never a lease read), and see the writes too.
    const before = await counter(follower, 'concord_raft_read_index_rounds_total');
    await waitUntil(async () => {
      const leaseReadsBefore = await counter(leader, 'concord_raft_lease_reads_total');
      if ((await call(leader, 'GET', `/api/v1/tasks/${written.at(-1)}`)).status !== 200) failures.push('linearizable read on the leader');
      const read = await call(follower, 'GET', `/api/v1/tasks/${written.at(-1)}?consistency=lease`);
      if (read.status !== 200 || read.body.id !== written.at(-1)) failures.push(`follower lease read: ${read.status}`);
      return failures.length > 0 || await counter(leader, 'concord_raft_lease_reads_total') > leaseReadsBefore;
    }, { timeoutMs: 15_000, intervalMs: 1, what: 'a follower\'s lease read answered from the leader\'s lease' });
    expect(failures).toEqual([]);
    expect(await counter(follower, 'concord_raft_read_index_rounds_total')).toBeGreaterThan(before);
    expect(await counter(follower, 'concord_raft_lease_reads_total')).toBe(0);
  });
});
