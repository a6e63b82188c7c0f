// Membership through the API with real processes: a fourth node started with
// `join: true` is added through a follower (forwarded to the leader) as a learner,
// catches up, is promoted, serves linearizable reads, survives a founder's restart
// from a snapshot that replaced the entry carrying its address, and is removed again.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerCluster } from '../helpers/server-cluster.js';
import { CALM_ELECTIONS, settled, waitUntil } from '../helpers/wait.js';

describe('membership changes through /api/cluster/members', () => {
  const cluster = new ServerCluster(4, { idPrefix: 'm', config: { ...CALM_ELECTIONS } });
  const founders = ['m1', 'm2', 'm3'];
  const call = cluster.call.bind(cluster);

  beforeAll(async () => {
    await cluster.init();
    // The founders know only each other; m4 joins with the founders as its peers.
    for (const id of cluster.ids) {
      const config = JSON.parse(readFileSync(cluster.configPath(id), 'utf8')) as { peers: { id: string }[]; join?: boolean };
      config.peers = config.peers.filter((p) => p.id !== 'm4');
      if (id === 'm4') config.join = true;
      writeFileSync(cluster.configPath(id), JSON.stringify(config), { mode: 0o600 });
    }
    for (const id of founders) cluster.start(id);
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('adds a joining node as a voter and removes it', async () => {
    const leader = await cluster.leader();
    const follower = founders.find((id) => id !== leader)!;
    const before = await waitUntil(async () => {
      const r = await call(leader, 'POST', '/api/v1/tasks', { kind: 'before-join' });
      return r.status === 201 ? r : null;
    }, { timeoutMs: 15_000, what: 'a write before the join' });
    cluster.start('m4');
    // A node that joins has no configuration: it never campaigns and is not ready.
    await waitUntil(async () => (await cluster.status('m4')) !== null, { timeoutMs: 15_000, what: 'm4 to answer' });
    expect((await call('m4', 'GET', '/ready')).status).toBe(503);

    expect((await call(follower, 'POST', '/api/cluster/members', { id: 'm4', host: 'not a host!', port: 0 })).status).toBe(400);
    const added = await call(follower, 'POST', '/api/cluster/members', { id: 'm4', host: '127.0.0.1', port: cluster.port('m4') }, 30_000);
    expect(added.status).toBe(200);
    expect(added.body.voters).toEqual(['m1', 'm2', 'm3', 'm4']);
    await waitUntil(async () => (await call('m4', 'GET', '/ready')).status === 200, { timeoutMs: 15_000, what: 'm4 to be ready' });
    // Linearizable reads on the new member see writes from before and after the join.
    expect((await settled(() => call('m4', 'GET', `/api/v1/tasks/${before.body.id}`), 'the first task on m4')).status).toBe(200);
    const after = await settled(() => call('m4', 'POST', '/api/v1/tasks', { kind: 'via-m4' }), 'a write through m4');
    expect(after.status).toBe(201);
    for (const id of cluster.ids) expect((await settled(() => call(id, 'GET', `/api/v1/tasks/${after.body.id}`), `the task on ${id}`)).status).toBe(200);

    // m4's address came in a conf change entry. Once a founder's snapshot has replaced
    // that entry, the founder (whose config file does not list m4) must still know
    // where m4 is after a restart: snapshots keep the members' addresses.
    const snapshot = await settled(() => call(follower, 'POST', '/api/cluster/snapshot', undefined, 30_000), 'a snapshot', 30_000);
    expect(snapshot.status).toBe(200);
    await cluster.stop(follower);
    cluster.start(follower);
    await cluster.caughtUp(follower);
    const restarted = await cluster.status(follower);
    expect(restarted!.snapshot_index).toBeGreaterThanOrEqual(snapshot.body.index);
    expect(restarted!.peers.find((p) => p.id === 'm4')?.address).toBe(`127.0.0.1:${cluster.port('m4')}`);

    const current = await cluster.leader();
    expect((await call(current, 'DELETE', '/api/cluster/members/nobody')).status).toBe(404);
    const removed = await settled(() => call(founders.find((id) => id !== current)!, 'DELETE', '/api/cluster/members/m4', undefined, 30_000), 'removing m4', 30_000);
    expect(removed.status).toBe(200);
    expect(removed.body.voters).toEqual(['m1', 'm2', 'm3']);
    const members = await call(await cluster.leader(), 'GET', '/api/cluster/members');
    expect(members.body.voters).toEqual(['m1', 'm2', 'm3']);
  });
});
