// Edge cases of the state machine's commands: idempotency records pruned by the
// sweep's ts, refusals by non-holders and for unknown tasks (state unchanged),
// heartbeats for unknown/unregistered nodes, lease expiry at max attempts, claim
// order (priority, then age) and the targets of sweep-created replicate tasks.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, Model, type TaskRow } from '../../../src/state/index.js';
import { register, run, value } from './fixtures.js';

const refused = (code: string) => ({ ok: false, error: { code, message: expect.any(String) } });

/** A model holding task `t` claimed by worker `w1` with a lease until 110. */
function claimedTask(): Model {
  const model = new Model();
  value(run(model, { type: 'task.submit', id: 't', kind: 'k', payload: null }, 1));
  value(run(model, { type: 'task.claim', worker_id: 'w1', lease_ms: 100 }, 10));
  return model;
}

describe('idempotency records', () => {
  it('are kept by a sweep within the retention and pruned beyond it, after which the key runs anew', () => {
    const model = new Model({ ...DEFAULT_LIMITS, idempotencyRetentionMs: 1000 });
    const submit = { type: 'task.submit', id: 't', kind: 'k', payload: 1 } as const;
    const first = run(model, submit, 100, 'key-1');
    expect(first).toMatchObject({ ok: true, value: { id: 't', status: 'queued', created_at: 100 } });
    value(run(model, { type: 'sweep' }, 1100)); // exactly the retention: kept
    const checksum = model.checksum();
    expect(run(model, submit, 1100, 'key-1')).toEqual(first);
    expect(model.checksum()).toBe(checksum);
    value(run(model, { type: 'sweep' }, 1101)); // past the retention: pruned
    expect(model.requests.has('key-1')).toBe(false);
    expect(run(model, submit, 1102, 'key-1')).toEqual(refused('CONCORD_ERR_CONFLICT')); // applied as a new command
    expect(model.requests.get('key-1')).toMatchObject({ ts: 1102, result: refused('CONCORD_ERR_CONFLICT') });
  });
});

describe('refused task commands leave state unchanged', () => {
  it('task.fail by a worker that does not hold the task', () => {
    const model = claimedTask();
    const [task, checksum] = [model.tasks.get('t'), model.checksum()];
    expect(run(model, { type: 'task.fail', id: 't', worker_id: 'w2', error: 'boom' }, 20)).toEqual(refused('CONCORD_ERR_NOT_LEASE_HOLDER'));
    expect(model.tasks.get('t')).toBe(task);
    expect(model.checksum()).toBe(checksum);
  });

  it('task.renew by a worker that does not hold the task', () => {
    const model = claimedTask();
    const checksum = model.checksum();
    expect(run(model, { type: 'task.renew', id: 't', worker_id: 'w2', lease_ms: 500 }, 20)).toEqual(refused('CONCORD_ERR_NOT_LEASE_HOLDER'));
    expect(model.tasks.get('t')).toMatchObject({ worker_id: 'w1', lease_expires_at: 110 });
    expect(model.checksum()).toBe(checksum);
  });

  it('task.complete and task.renew of an unknown task id are NOT_FOUND', () => {
    const model = claimedTask();
    const checksum = model.checksum();
    expect(run(model, { type: 'task.complete', id: 'nope', worker_id: 'w1', result: 1 }, 20)).toEqual(refused('CONCORD_ERR_NOT_FOUND'));
    expect(run(model, { type: 'task.renew', id: 'nope', worker_id: 'w1', lease_ms: 10 }, 20)).toEqual(refused('CONCORD_ERR_NOT_FOUND'));
    expect(model.tasks.has('nope')).toBe(false);
    expect(model.checksum()).toBe(checksum);
  });
});

describe('heartbeats', () => {
  it('a batch for an unregistered and an unknown node accepts nothing, reports both and changes nothing', () => {
    const model = new Model();
    register(model, 'a');
    value(run(model, { type: 'node.unregister', id: 'a' }));
    const checksum = model.checksum();
    expect(run(model, { type: 'node.heartbeat_batch', beats: [{ id: 'a', used_bytes: 5 }, { id: 'ghost', used_bytes: 1 }] }, 5000))
      .toEqual({ ok: true, value: { accepted: 0, unknown: ['a', 'ghost'] } });
    expect(model.nodes.get('a')).toMatchObject({ status: 'unregistered', used: 0, last_heartbeat: 1000 });
    expect(model.nodes.has('ghost')).toBe(false);
    expect(model.checksum()).toBe(checksum);
  });
});

describe('lease expiry', () => {
  it('requeues with one more attempt until the max-th expiry, which fails the task', () => {
    const model = new Model();
    value(run(model, { type: 'task.submit', id: 't', kind: 'k', payload: null, max_attempts: 3 }, 0));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const ts = attempt * 100;
      value(run(model, { type: 'task.claim', worker_id: 'w', lease_ms: 10 }, ts));
      expect(run(model, { type: 'sweep' }, ts + 10)).toEqual({ ok: true, value: { nodes: { inactive: 0, dead: 0 }, leases_expired: 1, replicate_tasks: 0 } });
      expect(model.tasks.get('t')).toMatchObject({ status: attempt < 3 ? 'queued' : 'failed', attempts: attempt, worker_id: null, lease_expires_at: null });
    }
    expect(run(model, { type: 'task.claim', worker_id: 'w', lease_ms: 10 }, 400)).toEqual(refused('CONCORD_ERR_NO_TASK'));
  });
});

describe('claim order', () => {
  it('claims higher priority first, then the oldest among equal priority', () => {
    const model = new Model();
    // Ids sort against age, so only created_at can order the two priority-0 tasks.
    value(run(model, { type: 'task.submit', id: 'b-old', kind: 'k', payload: null, priority: 0 }, 1));
    value(run(model, { type: 'task.submit', id: 'a-new', kind: 'k', payload: null, priority: 0 }, 2));
    value(run(model, { type: 'task.submit', id: 'z-high', kind: 'k', payload: null, priority: 1 }, 3));
    const claims = [10, 11, 12].map((ts) => value<TaskRow>(run(model, { type: 'task.claim', worker_id: 'w', lease_ms: 100 }, ts)).id);
    expect(claims).toEqual(['z-high', 'b-old', 'a-new']);
  });
});

describe('replicate tasks', () => {
  it('target distinct active nodes with room that do not hold the chunk yet', () => {
    const model = new Model({ ...DEFAULT_LIMITS, nodeTimeoutMs: 100, nodeInactiveAfterMs: 1000 });
    for (const id of ['a', 'b', 'c']) register(model, id, 1000, undefined, 0);
    value(run(model, { type: 'file.register', file_id: 'f', name: 'n', size: 100, replication_factor: 3, chunks: [{ hash: 'h', size: 100 }] }, 0));
    for (const id of ['a', 'b', 'c']) value(run(model, { type: 'replica.report', node_id: id, stored: ['h'], lost: [] }, 0));
    register(model, 'd', 1000, undefined, 100);
    register(model, 'e', 50, undefined, 100); // no room for the chunk
    register(model, 'f', 1000, undefined, 100);
    register(model, 'g', 1000, undefined, 100);
    value(run(model, { type: 'node.unregister', id: 'g' }, 100));
    value(run(model, { type: 'node.heartbeat_batch', beats: [{ id: 'a', used_bytes: 100 }] }, 150));
    // b and c go inactive: their replicas no longer count, and 'a' is the only live one.
    expect(value(run(model, { type: 'sweep' }, 150))).toMatchObject({ nodes: { inactive: 2, dead: 0 }, replicate_tasks: 1 });
    const task = model.tasks.get('replicate-h-150');
    expect(task).toMatchObject({ kind: 'replicate', status: 'queued' });
    const { targets } = task!.payload as { targets: string[] };
    expect(task!.payload).toEqual({ chunk_hash: 'h', sources: ['a'], targets: ['d', 'f'] });
    const holders = new Set(model.replicasOf('h').map((r) => r.node_id));
    expect(targets.length).toBeGreaterThan(0);
    expect(new Set(targets).size).toBe(targets.length);
    for (const id of targets) {
      const node = model.nodes.get(id)!;
      expect(node.status).toBe('active');
      expect(node.capacity - node.used - model.pendingBytes(id)).toBeGreaterThanOrEqual(100);
      expect(holders.has(id)).toBe(false);
    }
  });
});

describe('capabilities and stats', () => {
  it('are kept with their keys sorted, so the order a client sent them in changes neither the row nor the checksum', () => {
    const orders = [{ zeta: '1', alpha: '2', mid: '3' }, { alpha: '2', mid: '3', zeta: '1' }, { mid: '3', zeta: '1', alpha: '2' }];
    const models = orders.map((capabilities) => {
      const model = new Model();
      value(run(model, { type: 'node.register', id: 'n', addresses: ['a:1'], storage_capacity: 10, capabilities }, 5));
      value(run(model, { type: 'node.heartbeat_batch', beats: [{ id: 'n', used_bytes: 1, stats: { b: 1, a: 'x', '10': true, '9': 2 } }] }, 6));
      return model;
    });
    for (const model of models) {
      const row = model.nodes.get('n')!;
      expect(Object.keys(row.capabilities)).toEqual(['alpha', 'mid', 'zeta']);
      expect(JSON.stringify(row.stats)).toBe('{"9":2,"10":true,"a":"x","b":1}');
      expect(model.checksum()).toBe(models[0].checksum());
    }
  });
});
