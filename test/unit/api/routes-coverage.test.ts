// Routes of the HTTP API no other test calls, on a real single-node Concord:
// unregistering a node, the active-node list, the task list with its status filter,
// and /api/health.
import { describe, expect, it } from 'vitest';
import { soloForFile } from '../../helpers/solo-server.js';

const { call } = soloForFile('concord-routes-');

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

describe('POST /api/v1/nodes/:id/unregister', () => {
  it('answers 404 CONCORD_ERR_NOT_FOUND for a node that was never registered', async () => {
    const res = await call('POST', '/api/v1/nodes/no-such-node/unregister');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'CONCORD_ERR_NOT_FOUND', message: expect.stringContaining('no-such-node') });
    expect((await call('GET', '/api/v1/nodes/no-such-node')).status).toBe(404); // nothing was invented
  });

  it('marks a registered node unregistered: kept by id, filtered out of the active list, refused heartbeats', async () => {
    const register = (address: string) => call('POST', '/api/v1/nodes/register', { addresses: [address], storage_capacity: 1000 });
    const gone = (await register('10.9.0.1:1')).body.id as string;
    const kept = (await register('10.9.0.2:1')).body.id as string;
    expect(ids((await call('GET', '/api/v1/nodes/active')).body.nodes)).toEqual(expect.arrayContaining([gone, kept]));
    const before = (await call('GET', '/api/v1/network/status')).body.nodes;

    const res = await call('POST', `/api/v1/nodes/${gone}/unregister`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: gone, status: 'unregistered' });

    expect((await call('GET', `/api/v1/nodes/${gone}`)).body).toMatchObject({ id: gone, status: 'unregistered' });
    const active = ids((await call('GET', '/api/v1/nodes/active')).body.nodes);
    expect(active).toContain(kept);
    expect(active).not.toContain(gone);
    expect(ids((await call('GET', '/api/v1/nodes?status=active')).body.nodes)).not.toContain(gone);
    expect(ids((await call('GET', '/api/v1/nodes?status=unregistered')).body.nodes)).toEqual([gone]);
    const after = (await call('GET', '/api/v1/network/status')).body.nodes;
    expect(after.active).toBe(before.active - 1);
    expect(after.unregistered).toBe(before.unregistered + 1);
    // An unregistered node is unknown to heartbeats (README: 404 unknown) and stays unregistered.
    const beat = await call('POST', `/api/v1/nodes/${gone}/heartbeat`, { used_bytes: 1 });
    expect(beat.status).toBe(404);
    expect(beat.body.error.code).toBe('CONCORD_ERR_NOT_FOUND');
    expect((await call('GET', `/api/v1/nodes/${gone}`)).body.status).toBe('unregistered');
  });
});

describe('GET /api/v1/nodes/active', () => {
  it('lists only active nodes with the applied index, at every consistency, and refuses a bad one', async () => {
    const id = (await call('POST', '/api/v1/nodes/register', { addresses: ['10.9.1.1:1'], storage_capacity: 5, zone: 'za' })).body.id as string;
    const res = await call('GET', '/api/v1/nodes/active');
    expect(res.status).toBe(200);
    expect(res.headers['x-concord-consistency']).toBe('linearizable');
    expect(res.body.applied_index).toBeGreaterThan(0);
    expect(res.body.nodes.length).toBeGreaterThan(0);
    expect(res.body.nodes.every((n: { status: string }) => n.status === 'active')).toBe(true);
    expect(res.body.nodes.find((n: { id: string }) => n.id === id)).toMatchObject({ addresses: ['10.9.1.1:1'], capacity: 5, zone: 'za' });
    const stale = await call('GET', '/api/v1/nodes/active?consistency=stale');
    expect(stale.headers['x-concord-consistency']).toBe('stale');
    expect(ids(stale.body.nodes)).toContain(id);
    const bad = await call('GET', '/api/v1/nodes/active?consistency=eventual');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', message: expect.stringContaining('consistency') });
  });
});

describe('GET /api/v1/tasks', () => {
  it('lists every task and filters by ?status=, like /api/tasks', async () => {
    const submit = async (kind: string, priority: number) => (await call('POST', '/api/v1/tasks', { kind, priority })).body.id as string;
    const queued = await submit('list-queued', 0);
    const running = await submit('list-running', 50);
    const cancelled = await submit('list-cancelled', 0);
    expect((await call('POST', '/api/v1/tasks/claim', { worker_id: 'lister', lease_ms: 600_000 })).body.id).toBe(running);
    expect((await call('POST', `/api/v1/tasks/${cancelled}/cancel`)).body.status).toBe('cancelled');

    const all = await call('GET', '/api/v1/tasks');
    expect(all.status).toBe(200);
    expect(all.body.applied_index).toBeGreaterThan(0);
    const statusOf = new Map<string, string>(all.body.tasks.map((t: { id: string; status: string }) => [t.id, t.status]));
    expect(Object.fromEntries([queued, running, cancelled].map((id) => [id, statusOf.get(id)])))
      .toEqual({ [queued]: 'queued', [running]: 'running', [cancelled]: 'cancelled' });
    const created = all.body.tasks.map((t: { created_at: number }) => t.created_at);
    expect(created).toEqual([...created].sort((a, b) => a - b)); // oldest first

    for (const [status, expected] of [['queued', queued], ['running', running], ['cancelled', cancelled]] as const) {
      const rows = (await call('GET', `/api/v1/tasks?status=${status}`)).body.tasks as { id: string; status: string }[];
      expect(rows.every((t) => t.status === status)).toBe(true);
      expect(ids(rows)).toContain(expected);
    }
    expect((await call('GET', '/api/v1/tasks?status=succeeded')).body.tasks).toEqual([]);
    expect((await call('GET', '/api/tasks')).body.tasks).toEqual(all.body.tasks);
    const bad = await call('GET', '/api/v1/tasks?status=done');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', message: expect.stringContaining('status') });
  });
});

describe('GET /api/health', () => {
  it('answers 200 healthy with the leader and the storage state, like /health', async () => {
    const res = await call('GET', '/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'healthy', leader: 'solo', storage: { healthy: true, error: null, log_bytes: expect.any(Number) } });
    expect(res.body.storage.log_bytes).toBeGreaterThan(0);
    const plain = await call('GET', '/health');
    expect(plain.status).toBe(200);
    expect({ ...plain.body, storage: { ...plain.body.storage, log_bytes: 0 } }).toEqual({ ...res.body, storage: { ...res.body.storage, log_bytes: 0 } });
  });
});
