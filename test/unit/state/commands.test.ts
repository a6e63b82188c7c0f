// Behaviour of every command, including refusals.
import { describe, expect, it } from 'vitest';
import { Model, applyEntryData } from '../../../src/state/index.js';
import { register, run, value } from './fixtures.js';

describe('nodes', () => {
  it('registers, heartbeats and unregisters; unknown nodes are refused', () => {
    const model = new Model();
    register(model, 'a');
    expect(model.nodes.get('a')).toMatchObject({ status: 'active', capacity: 1_000_000, used: 0 });
    expect(value(run(model, { type: 'node.heartbeat_batch', beats: [{ id: 'a', used_bytes: 50 }, { id: 'ghost', used_bytes: 1 }] }, 2000)))
      .toEqual({ accepted: 1, unknown: ['ghost'] });
    expect(model.nodes.get('a')).toMatchObject({ used: 50, last_heartbeat: 2000 });
    expect(run(model, { type: 'node.unregister', id: 'ghost' })).toMatchObject({ ok: false, error: { code: 'CONCORD_ERR_NOT_FOUND' } });
    value(run(model, { type: 'node.unregister', id: 'a' }));
    expect(model.nodes.get('a')?.status).toBe('unregistered');
  });
});

describe('files and placement', () => {
  it('places each chunk on distinct active nodes, spread across zones', () => {
    const model = new Model();
    register(model, 'a', 1_000, 'z1');
    register(model, 'b', 2_000, 'z1');
    register(model, 'c', 1_500, 'z2');
    register(model, 'd', 1_200, 'z3');
    const placed = value<{ placements: { hash: string; nodes: string[] }[] }>(run(model,
      { type: 'file.register', file_id: 'f1', name: 'one', size: 100, chunks: [{ hash: 'h1', size: 100 }] }));
    expect(placed.placements[0].nodes).toEqual(['b', 'c', 'd']); // one per zone, most free first
    expect(model.replicasOf('h1').map((r) => r.state)).toEqual(['pending', 'pending', 'pending']);
  });

  it('refuses duplicates and files that fit nowhere; deletes release replicas', () => {
    const model = new Model();
    register(model, 'a', 100);
    expect(run(model, { type: 'file.register', file_id: 'big', name: 'big', size: 500, chunks: [{ hash: 'x', size: 500 }] }))
      .toMatchObject({ ok: false, error: { code: 'CONCORD_ERR_NO_CAPACITY' } });
    value(run(model, { type: 'file.register', file_id: 'f', name: 'n', size: 10, replication_factor: 1, chunks: [{ hash: 'h', size: 10 }] }));
    expect(run(model, { type: 'file.register', file_id: 'f', name: 'other', size: 1, chunks: [] })).toMatchObject({ error: { code: 'CONCORD_ERR_CONFLICT' } });
    expect(run(model, { type: 'file.register', file_id: 'g', name: 'n', size: 1, chunks: [] })).toMatchObject({ error: { code: 'CONCORD_ERR_CONFLICT' } });
    expect(value(run(model, { type: 'file.delete', file_id: 'f' }))).toEqual({ file_id: 'f', replicas_released: 1 });
    expect(model.replicas.size).toBe(0);
    expect(run(model, { type: 'file.delete', file_id: 'f' })).toMatchObject({ error: { code: 'CONCORD_ERR_NOT_FOUND' } });
  });

  it('replica reports mark stored and lost replicas of known chunks only', () => {
    const model = new Model();
    register(model, 'a');
    register(model, 'b');
    value(run(model, { type: 'file.register', file_id: 'f', name: 'n', size: 10, replication_factor: 1, chunks: [{ hash: 'h', size: 10 }] }));
    expect(value(run(model, { type: 'replica.report', node_id: 'b', stored: ['h', 'unknown'], lost: [] }))).toEqual({ stored: 1, lost: 0 });
    expect(model.replicas.get('h|b')?.state).toBe('stored');
    expect(value(run(model, { type: 'replica.report', node_id: 'b', stored: [], lost: ['h'] }))).toEqual({ stored: 0, lost: 1 });
    expect(run(model, { type: 'replica.report', node_id: 'ghost', stored: [], lost: [] })).toMatchObject({ error: { code: 'CONCORD_ERR_NOT_FOUND' } });
  });
});

describe('tasks', () => {
  it('claims the highest priority, oldest matching task and enforces the lease holder', () => {
    const model = new Model();
    value(run(model, { type: 'task.submit', id: 't-low', kind: 'k', payload: {}, priority: 1 }, 1));
    value(run(model, { type: 'task.submit', id: 't-gpu', kind: 'k', payload: {}, priority: 9, required_capabilities: ['gpu'] }, 2));
    value(run(model, { type: 'task.submit', id: 't-high', kind: 'k', payload: {}, priority: 5 }, 3));
    const claimed = value<{ id: string; lease_expires_at: number }>(run(model, { type: 'task.claim', worker_id: 'w1', lease_ms: 100 }, 10));
    expect(claimed).toMatchObject({ id: 't-high', lease_expires_at: 110 });
    expect(value<{ id: string }>(run(model, { type: 'task.claim', worker_id: 'w2', capabilities: ['gpu'], lease_ms: 100 }, 11)).id).toBe('t-gpu');
    expect(run(model, { type: 'task.complete', id: 't-high', worker_id: 'w2', result: 1 })).toMatchObject({ error: { code: 'CONCORD_ERR_NOT_LEASE_HOLDER' } });
    value(run(model, { type: 'task.renew', id: 't-high', worker_id: 'w1', lease_ms: 500 }, 20));
    expect(model.tasks.get('t-high')?.lease_expires_at).toBe(520);
    value(run(model, { type: 'task.complete', id: 't-high', worker_id: 'w1', result: { ok: 1 } }, 30));
    expect(model.tasks.get('t-high')).toMatchObject({ status: 'succeeded', result: { ok: 1 } });
    value(run(model, { type: 'task.claim', worker_id: 'w1', lease_ms: 100 }, 40));
    expect(run(model, { type: 'task.claim', worker_id: 'w1', lease_ms: 100 }, 41)).toMatchObject({ error: { code: 'CONCORD_ERR_NO_TASK' } });
  });

  it('retries failed tasks up to max attempts, cancels open ones only', () => {
    const model = new Model();
    value(run(model, { type: 'task.submit', id: 't', kind: 'k', payload: null, max_attempts: 2 }));
    value(run(model, { type: 'task.claim', worker_id: 'w', lease_ms: 10 }));
    expect(value<{ status: string }>(run(model, { type: 'task.fail', id: 't', worker_id: 'w', error: 'boom' })).status).toBe('queued');
    value(run(model, { type: 'task.claim', worker_id: 'w', lease_ms: 10 }));
    expect(value<{ status: string }>(run(model, { type: 'task.fail', id: 't', worker_id: 'w', error: 'boom' })).status).toBe('failed');
    expect(run(model, { type: 'task.cancel', id: 't' })).toMatchObject({ error: { code: 'CONCORD_ERR_CONFLICT' } });
    expect(run(model, { type: 'task.cancel', id: 'nope' })).toMatchObject({ error: { code: 'CONCORD_ERR_NOT_FOUND' } });
  });

  it('maintenance mode refuses submissions and lets running tasks finish', () => {
    const model = new Model();
    value(run(model, { type: 'task.submit', id: 't', kind: 'k', payload: null }));
    value(run(model, { type: 'task.claim', worker_id: 'w', lease_ms: 10 }));
    value(run(model, { type: 'maintenance.enable', reason: 'upgrade' }, 5));
    expect(model.maintenance()).toEqual({ enabled: true, reason: 'upgrade', since: 5 });
    expect(run(model, { type: 'task.submit', id: 'u', kind: 'k', payload: null })).toMatchObject({ error: { code: 'CONCORD_ERR_MAINTENANCE' } });
    value(run(model, { type: 'task.complete', id: 't', worker_id: 'w', result: null }));
    value(run(model, { type: 'maintenance.disable' }));
    value(run(model, { type: 'task.submit', id: 'u', kind: 'k', payload: null }));
  });
});

describe('sweep, idempotency and bad entries', () => {
  it('a lost replica makes its chunk under-replicated at the next sweep, without a full scan', () => {
    const model = new Model();
    register(model, 'a');
    register(model, 'b');
    register(model, 'c');
    value(run(model, { type: 'file.register', file_id: 'f', name: 'n', size: 10, replication_factor: 2, chunks: [{ hash: 'h', size: 10 }] }));
    expect(value(run(model, { type: 'sweep' }, 1001))).toMatchObject({ replicate_tasks: 0 });
    const holder = model.replicasOf('h')[0].node_id;
    value(run(model, { type: 'replica.report', node_id: holder, stored: [], lost: ['h'] }, 1002));
    expect(model.fullScan).toBe(false);
    expect(value(run(model, { type: 'sweep' }, 1003))).toMatchObject({ replicate_tasks: 1 });
    expect(value(run(model, { type: 'sweep' }, 1004))).toMatchObject({ replicate_tasks: 0 }); // one open task per chunk
  });

  it('refuses a chunk known with another size, and a file that does not fit leaves no pending replica', () => {
    const model = new Model();
    register(model, 'a', 100);
    value(run(model, { type: 'file.register', file_id: 'f', name: 'n', size: 10, replication_factor: 1, chunks: [{ hash: 'h', size: 10 }] }));
    expect(run(model, { type: 'file.register', file_id: 'g', name: 'm', size: 11, chunks: [{ hash: 'h', size: 11 }] }))
      .toMatchObject({ ok: false, error: { code: 'CONCORD_ERR_CONFLICT' } });
    const before = model.checksum();
    expect(run(model, { type: 'file.register', file_id: 'g', name: 'm', size: 500, chunks: [{ hash: 'x', size: 50 }, { hash: 'y', size: 500 }] }))
      .toMatchObject({ ok: false, error: { code: 'CONCORD_ERR_NO_CAPACITY' } });
    expect(model.checksum()).toBe(before);
    expect(model.pendingBytes('a')).toBe(10);
  });

  it('moves nodes by heartbeat age, expires leases and queues one replicate task per under-replicated chunk', () => {
    const model = new Model({ nodeTimeoutMs: 100, nodeInactiveAfterMs: 100, replicationFactor: 2, taskMaxAttempts: 2, idempotencyRetentionMs: 1000 });
    for (const id of ['a', 'b', 'c']) register(model, id, 1000, undefined, 0);
    const placed = value<{ placements: { nodes: string[] }[] }>(run(model, { type: 'file.register', file_id: 'f', name: 'n', size: 1, chunks: [{ hash: 'h', size: 1 }] }, 0));
    const [first] = placed.placements[0].nodes;
    value(run(model, { type: 'task.submit', id: 't', kind: 'k', payload: null }, 0));
    value(run(model, { type: 'task.claim', worker_id: 'w', lease_ms: 50 }, 0));
    const others = ['a', 'b', 'c'].filter((id) => id !== first);
    value(run(model, { type: 'node.heartbeat_batch', beats: others.map((id) => ({ id, used_bytes: 0 })) }, 150));
    value(run(model, { type: 'sweep' }, 150));
    expect(model.nodes.get(first)?.status).toBe('inactive');
    expect(model.tasks.get('t')).toMatchObject({ status: 'queued', attempts: 1 });
    const replicate = [...model.tasks.values()].filter((t) => t.kind === 'replicate');
    expect(replicate).toHaveLength(1);
    value(run(model, { type: 'sweep' }, 160));
    expect([...model.tasks.values()].filter((t) => t.kind === 'replicate')).toHaveLength(1); // no duplicate
    value(run(model, { type: 'sweep' }, 300));
    expect(model.nodes.get(first)?.status).toBe('dead');
  });

  it('a retried write with the same idempotency key returns the first result and changes nothing', () => {
    const model = new Model();
    const first = run(model, { type: 'task.submit', id: 't', kind: 'k', payload: 1 }, 1, 'key-1');
    const checksum = model.checksum();
    expect(run(model, { type: 'task.submit', id: 't', kind: 'k', payload: 1 }, 2, 'key-1')).toEqual(first);
    expect(model.checksum()).toBe(checksum);
    expect(run(model, { type: 'task.submit', id: 't', kind: 'k', payload: 1 }, 3)).toMatchObject({ error: { code: 'CONCORD_ERR_CONFLICT' } });
  });

  it('an invalid entry yields a deterministic error and changes nothing', () => {
    const model = new Model();
    const checksum = model.checksum();
    for (const bytes of [new Uint8Array([0xff, 0xfe]), new TextEncoder().encode('{"v":1,"ts":1,"cmd":{"type":"nope"}}'), new Uint8Array()]) {
      expect(applyEntryData(model, bytes)).toMatchObject({ ok: false, error: { code: 'CONCORD_ERR_INVALID_COMMAND' } });
    }
    expect(model.checksum()).toBe(checksum);
  });
});
