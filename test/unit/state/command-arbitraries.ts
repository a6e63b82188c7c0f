// Random command logs for the state machine's property tests (determinism, crash and
// replay): a few nodes, files, chunks and tasks, so commands meet each other's rows.
import fc from 'fast-check';
import type { Model } from '../../../src/state/index.js';
import type { Cmd } from './fixtures.js';

const BASE_HASHES = ['h1', 'h2', 'h3', 'h4'];

/**
 * Any command. `extraHashes` adds chunk hashes (64 hex digits make packed chunk lists in
 * the store), `files` the file ids used. Task id "*" means some open task (see `resolveStar`).
 */
export function commandArbitrary(options: { extraHashes?: readonly string[]; files?: readonly string[] } = {}): fc.Arbitrary<Cmd> {
  const nodeId = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const hash = fc.constantFrom(...BASE_HASHES, ...(options.extraHashes ?? []));
  const fileId = fc.constantFrom(...(options.files ?? ['f1', 'f2', 'f3']));
  const taskId = fc.constantFrom('t1', 't2', 't3');
  return fc.oneof(
    fc.record({ id: nodeId, cap: fc.integer({ min: 0, max: 1000 }), zone: fc.option(fc.constantFrom('z1', 'z2')) })
      .map(({ id, cap, zone }): Cmd => ({ type: 'node.register', id, addresses: [`${id}:1`], storage_capacity: cap, capabilities: {}, ...(zone ? { zone } : {}) })),
    fc.array(fc.record({ id: nodeId, used_bytes: fc.nat(500), stats: fc.option(fc.dictionary(fc.constantFrom('iops', 'temp', 'disk', 'ok'),
      fc.oneof(fc.nat(100), fc.constantFrom('sda', 'nvme'), fc.boolean()), { maxKeys: 3 }), { nil: undefined }) }, { requiredKeys: ['id', 'used_bytes'] }),
    { maxLength: 3 }).map((beats): Cmd => ({ type: 'node.heartbeat_batch', beats })),
    nodeId.map((id): Cmd => ({ type: 'node.unregister', id })),
    fc.constant<Cmd>({ type: 'sweep' }),
    fc.record({ f: fileId, chunks: fc.uniqueArray(hash, { maxLength: 3 }), rf: fc.integer({ min: 1, max: 3 }) })
      .map(({ f, chunks, rf }): Cmd => ({ type: 'file.register', file_id: f, name: f, size: 10, replication_factor: rf, chunks: chunks.map((h) => ({ hash: h, size: 10 })) })),
    fileId.map((f): Cmd => ({ type: 'file.delete', file_id: f })),
    fc.record({ node: nodeId, stored: fc.array(hash, { maxLength: 2 }), lost: fc.array(hash, { maxLength: 2 }) })
      .map(({ node, stored, lost }): Cmd => ({ type: 'replica.report', node_id: node, stored, lost })),
    fc.record({ id: taskId, priority: fc.integer({ min: 0, max: 3 }), caps: fc.subarray(['gpu', 'ssd']) })
      .map(({ id, priority, caps }): Cmd => ({ type: 'task.submit', id, kind: 'k', payload: null, priority, required_capabilities: caps })),
    fc.record({ w: nodeId, caps: fc.subarray(['gpu', 'ssd']) }).map(({ w, caps }): Cmd => ({ type: 'task.claim', worker_id: w, lease_ms: 50, capabilities: caps })),
    fc.record({ id: taskId, w: nodeId }).map(({ id, w }): Cmd => ({ type: 'task.complete', id, worker_id: w, result: null })),
    nodeId.map((w): Cmd => ({ type: 'task.complete', id: '*', worker_id: w, result: null })),
    fc.constant<Cmd>({ type: 'task.cancel', id: '*' }),
    fc.record({ id: taskId, w: nodeId }).map(({ id, w }): Cmd => ({ type: 'task.fail', id, worker_id: w, error: 'x' })),
    taskId.map((id): Cmd => ({ type: 'task.cancel', id })),
    fc.constant<Cmd>({ type: 'maintenance.enable' }),
    fc.constant<Cmd>({ type: 'maintenance.disable' }),
  );
}

/** Task id "*" means: some open task (held by the worker, for complete), so replicate tasks get finished too; resolved against the state before the command. */
export function resolveStar(model: Model, cmd: Cmd): Cmd {
  if ((cmd.type !== 'task.complete' && cmd.type !== 'task.cancel') || cmd.id !== '*') return cmd;
  const open = [...model.tasks.values()].filter((t) => (cmd.type === 'task.cancel' ? t.status === 'queued' : t.status === 'running' && t.worker_id === cmd.worker_id));
  return { ...cmd, id: open.map((t) => t.id).sort()[0] ?? 'none' };
}
