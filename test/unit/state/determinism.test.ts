// Random command logs applied on two fresh replicas give the same results and
// checksums after every command; placement is distinct, within capacity, spread
// over zones where possible, and the same for the same input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Model, placeReplicas, type FileRow, type NodeRow } from '../../../src/state/index.js';
import { commandArbitrary, resolveStar } from './command-arbitraries.js';
import { bulkLoadReplicas, run } from './fixtures.js';

const command = commandArbitrary();
const step = fc.record({ cmd: command, dt: fc.nat(200), key: fc.option(fc.constantFrom('k1', 'k2'), { freq: 4 }) });
const log = fc.array(step, { maxLength: 80 });
const longLog = fc.array(step, { minLength: 40, maxLength: 120 });

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

/** A fresh model holding `from`'s rows, as if loaded from DuckDB after a restart. */
function reload(from: Model): Model {
  const to = new Model(from.limits);
  for (const [k, row] of from.nodes.entries()) to.nodes.load(k, row);
  bulkLoadReplicas(to.replicas, from.replicas);
  // Plain rows, as JSON.parse gives them from the database.
  for (const [k, row] of from.files.entries()) to.loadFile(k, JSON.parse(JSON.stringify(row)) as FileRow);
  for (const [k, row] of from.tasks.entries()) to.tasks.load(k, row);
  for (const [k, row] of from.meta.entries()) to.meta.load(k, row);
  for (const [k, row] of from.requests.entries()) to.requests.load(k, row);
  // A load does not hash rows; here the checksums are recomputed from the copied rows, so a row
  // that did not survive the copy shows up as a checksum difference.
  for (const table of [to.nodes, to.files, to.replicas, to.tasks, to.meta, to.requests]) table.adoptChecksum(table.rowsChecksum());
  to.rebuildIndexes();
  return to;
}

describe('derived indexes', () => {
  it('a replica reloaded from its rows at any point agrees with one that never restarted', () => {
    const timeout = fc.constantFrom(100, 1_000, 10_000);
    fc.assert(fc.property(longLog, fc.nat(120), fc.nat(300), fc.integer({ min: 0, max: 4 }), timeout, (entries, restartAt, size, count, nodeTimeoutMs) => {
      const limits = { nodeTimeoutMs, nodeInactiveAfterMs: 2 * nodeTimeoutMs, replicationFactor: 2, taskMaxAttempts: 2, idempotencyRetentionMs: 500 };
      const live = new Model(limits);
      let other = new Model(limits);
      let ts = 0;
      entries.forEach(({ cmd: generated, dt, key }, i) => {
        if (i === restartAt) other = reload(other);
        ts += dt;
        const cmd = resolveStar(live, generated);
        // The reference replica checks every chunk at every sweep; the live one only its suspects.
        if (cmd.type === 'sweep') other.fullScan = true;
        expect(run(other, cmd, ts, key ?? undefined)).toEqual(run(live, cmd, ts, key ?? undefined));
        expect(other.checksum()).toBe(live.checksum());
        // The placement index answers exactly what sorting every node would.
        for (const m of [live, other]) {
          const naive = placeReplicas({ nodes: m.nodes.values(), pendingBytes: (id) => m.pendingBytes(id), size, count, exclude: new Set(['a']) });
          expect(m.placement.place(size, count, new Set(['a'])).map((n) => n.id)).toEqual(naive.map((n) => n.id));
        }
      });
    }), { numRuns: 400 });
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
