// /ready on a node cut off from the others: the other two processes are paused
// (SIGSTOP), so it hears from no one; it must stop reporting ready, and report ready
// again once they resume (SIGCONT).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerCluster } from '../helpers/server-cluster.js';
import { waitUntil } from '../helpers/wait.js';

describe('/ready on an isolated node', () => {
  const cluster = new ServerCluster(3, { idPrefix: 'r' });
  const paused: number[] = [];

  beforeAll(async () => {
    await cluster.init();
    cluster.startAll();
  });
  afterAll(async () => {
    for (const pid of paused) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone; close() below still stops the rest
      }
    }
    await cluster.close();
  });

  it('turns 503 when the node is cut off and 200 when it can reach a quorum again', async () => {
    const leader = await cluster.leader();
    for (const id of cluster.ids) await cluster.caughtUp(id);
    const isolated = leader; // the hardest case: a leader must notice it lost its quorum (CheckQuorum)
    for (const id of cluster.ids) {
      await waitUntil(async () => (await cluster.call(id, 'GET', '/ready')).status === 200, { timeoutMs: 15_000, what: `${id} ready` });
    }
    for (const id of cluster.ids.filter((x) => x !== isolated)) {
      const pid = cluster.pid(id)!;
      process.kill(pid, 'SIGSTOP');
      paused.push(pid);
    }
    const cut = await waitUntil(async () => {
      const r = await cluster.call(isolated, 'GET', '/ready');
      return r.status === 503 ? r : null;
    }, { timeoutMs: 15_000, what: `${isolated} to stop being ready` });
    expect(cut.body).toMatchObject({ ready: false, leader: null });
    expect((await cluster.call(isolated, 'GET', '/live')).status).toBe(200);
    while (paused.length > 0) process.kill(paused.pop()!, 'SIGCONT');
    await waitUntil(async () => (await cluster.call(isolated, 'GET', '/ready')).status === 200, { timeoutMs: 20_000, what: `${isolated} ready again` });
  });
});
