// Random command logs applied on two fresh replicas give the same results and
// checksums after every command; placement is distinct, within capacity, spread
// over zones where possible, and the same for the same input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Model, placeReplicas, type NodeRow } from '../../../src/state/index.js';
import { run, type Cmd } from './fixtures.js';

const nodeId = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const hash = fc.constantFrom('h1', 'h2', 'h3', 'h4');
const taskId = fc.constantFrom('t1', 't2', 't3');
const command: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ id: nodeId, cap: fc.integer({ min: 0, max: 1000 }), zone: fc.option(fc.constantFrom('z1', 'z2')) })
    .map(({ id, cap, zone }): Cmd => ({ type: 'node.register', id, addresses: [`${id}:1`], storage_capacity: cap, capabilities: {}, ...(zone ? { zone } : {}) })),
  fc.array(fc.record({ id: nodeId, used_bytes: fc.nat(500) }), { maxLength: 3 }).map((beats): Cmd => ({ type: 'node.heartbeat_batch', beats })),
  nodeId.map((id): Cmd => ({ type: 'node.unregister', id })),
  fc.constant<Cmd>({ type: 'sweep' }),
  fc.record({ f: fc.constantFrom('f1', 'f2', 'f3'), chunks: fc.uniqueArray(hash, { maxLength: 3 }), rf: fc.integer({ min: 1, max: 3 }) })
    .map(({ f, chunks, rf }): Cmd => ({ type: 'file.register', file_id: f, name: f, size: 10, replication_factor: rf, chunks: chunks.map((h) => ({ hash: h, size: 10 })) })),
  fc.constantFrom('f1', 'f2', 'f3').map((f): Cmd => ({ type: 'file.delete', file_id: f })),
  fc.record({ node: nodeId, stored: fc.array(hash, { maxLength: 2 }), lost: fc.array(hash, { maxLength: 2 }) })
    .map(({ node, stored, lost }): Cmd => ({ type: 'replica.report', node_id: node, stored, lost })),
  fc.record({ id: taskId, priority: fc.integer({ min: 0, max: 3 }) }).map(({ id, priority }): Cmd => ({ type: 'task.submit', id, kind: 'k', payload: null, priority })),
  nodeId.map((w): Cmd => ({ type: 'task.claim', worker_id: w, lease_ms: 50 })),
  fc.record({ id: taskId, w: nodeId }).map(({ id, w }): Cmd => ({ type: 'task.complete', id, worker_id: w, result: null })),
  fc.record({ id: taskId, w: nodeId }).map(({ id, w }): Cmd => ({ type: 'task.fail', id, worker_id: w, error: 'x' })),
  taskId.map((id): Cmd => ({ type: 'task.cancel', id })),
  fc.constant<Cmd>({ type: 'maintenance.enable' }),
  fc.constant<Cmd>({ type: 'maintenance.disable' }),
);
const log = fc.array(fc.record({ cmd: command, dt: fc.nat(200), key: fc.option(fc.constantFrom('k1', 'k2')) }), { maxLength: 80 });

describe('determinism', () => {
  it('two replicas applying the same log agree on every result and checksum', () => {
    fc.assert(fc.property(log, (entries) => {
      const limits = { nodeTimeoutMs: 100, nodeInactiveAfterMs: 200, replicationFactor: 2, taskMaxAttempts: 2, idempotencyRetentionMs: 500 };
      const [x, y] = [new Model(limits), new Model(limits)];
      let ts = 0;
      for (const { cmd, dt, key } of entries) {
        ts += dt;
        expect(run(y, cmd, ts, key ?? undefined)).toEqual(run(x, cmd, ts, key ?? undefined));
        expect(y.checksum()).toBe(x.checksum());
      }
    }), { numRuns: 200 });
  });
});

describe('placement', () => {
  const node = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), capacity: fc.nat(1000), used: fc.nat(1000),
    zone: fc.option(fc.constantFrom('z1', 'z2', 'z3')), status: fc.constantFrom('active', 'active', 'inactive', 'dead') })
    .map((n): NodeRow => ({ ...n, status: n.status as NodeRow['status'], addresses: [], capabilities: {}, registered_at: 0, last_heartbeat: 0 }));
  it('chooses distinct active nodes with room, spreads zones, and is deterministic', () => {
    fc.assert(fc.property(fc.uniqueArray(node, { selector: (n) => n.id, maxLength: 6 }), fc.nat(300), fc.integer({ min: 1, max: 4 }), (nodes, size, count) => {
      const place = () => placeReplicas({ nodes, pendingBytes: () => 0, size, count, exclude: new Set() });
      const chosen = place();
      expect(place()).toEqual(chosen);
      expect(new Set(chosen.map((n) => n.id)).size).toBe(chosen.length);
      for (const n of chosen) {
        expect(n.status).toBe('active');
        expect(n.capacity - n.used).toBeGreaterThanOrEqual(size);
      }
      const eligible = nodes.filter((n) => n.status === 'active' && n.capacity - n.used >= size);
      expect(chosen.length).toBe(Math.min(count, eligible.length));
      const zonesAvailable = new Set(eligible.map((n) => n.zone ?? `node:${n.id}`)).size;
      const zonesChosen = new Set(chosen.map((n) => n.zone ?? `node:${n.id}`)).size;
      expect(zonesChosen).toBe(Math.min(chosen.length, zonesAvailable));
    }), { numRuns: 300 });
  });
});
