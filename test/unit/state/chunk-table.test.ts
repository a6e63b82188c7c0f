// The chunk table against a plain reference: a Map of replica rows keyed "hash|node",
// each chunk's files and size, and the checksum as the XOR of every row's hash.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkTable } from '../../../src/state/chunk-table.js';
import { rowHash } from '../../../src/state/row-hash.js';
import type { ReplicaRow, ReplicaState } from '../../../src/state/model.js';
import { bulkLoadReplicas } from './fixtures.js';

// Short ones, SHA-256-like ones (kept as words: enough of them that the index grows and
// shifts entries on delete) and an upper-case one (kept as a string).
const HASHES = ['h1', 'h2', 'h"3', 'h|4', 'F0'.repeat(32), ...Array.from({ length: 12 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32))];
const NODES = ['a', 'b', 'c', 'd', 'e', 'f'];
const FILES = ['f1', 'f2', 'f3'];

type Op =
  | { op: 'set'; hash: string; node: string; state: ReplicaState; size: number }
  | { op: 'delete'; hash: string; node: string }
  | { op: 'addFile' | 'removeFile'; hash: string; file: string; size: number }
  | { op: 'take' };

const hash = fc.constantFrom(...HASHES);
const node = fc.constantFrom(...NODES);
const size = fc.constantFrom(5, 7);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('set' as const), hash, node, state: fc.constantFrom<ReplicaState>('pending', 'stored'), size }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), hash, node }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constantFrom('addFile' as const, 'removeFile' as const), hash, file: fc.constantFrom(...FILES), size }), weight: 2 },
  fc.constant<Op>({ op: 'take' }),
);

class Reference {
  readonly rows = new Map<string, ReplicaRow>();
  readonly files = new Map<string, string[]>();
  readonly sizes = new Map<string, number>();
  /** Keys changed since the last take, in first-change order. */
  changes = new Set<string>();
  /** The keys the rows had at the last take: what a database flushed then holds. */
  stored = new Set<string>();

  known(hash: string): boolean {
    return (this.files.get(hash)?.length ?? 0) > 0 || [...this.rows.values()].some((r) => r.chunk_hash === hash);
  }

  forget(hash: string): void {
    if (!this.known(hash)) {
      this.sizes.delete(hash);
      this.files.delete(hash);
    }
  }

  apply(table: ChunkTable, o: Op): void {
    if (o.op === 'set') {
      const known = this.sizes.get(o.hash) ?? o.size;
      this.sizes.set(o.hash, known);
      this.rows.set(`${o.hash}|${o.node}`, { chunk_hash: o.hash, node_id: o.node, state: o.state, size: known });
      this.changes.add(`${o.hash}|${o.node}`);
      table.setReplica(o.hash, o.node, o.state, o.size);
    } else if (o.op === 'delete') {
      const key = `${o.hash}|${o.node}`;
      const had = this.rows.delete(key);
      if (had) this.changes.add(key);
      this.forget(o.hash);
      expect(table.deleteReplica(o.hash, o.node)).toBe(had);
    } else if (o.op === 'addFile') {
      const known = this.sizes.get(o.hash);
      const shared = table.addFile(o.hash, o.size, o.file);
      if (known !== undefined && known !== o.size) {
        expect(shared).toBe(-1);
        return;
      }
      expect(table.hashAt(shared)).toBe(o.hash);
      expect(table.sizeAt(shared)).toBe(o.size);
      this.sizes.set(o.hash, o.size);
      const files = this.files.get(o.hash) ?? [];
      if (!files.includes(o.file)) files.push(o.file);
      this.files.set(o.hash, files);
    } else if (o.op === 'removeFile') {
      const rest = (this.files.get(o.hash) ?? []).filter((f) => f !== o.file);
      this.files.set(o.hash, rest);
      this.forget(o.hash);
      expect(table.removeFile(o.hash, o.file)).toBe(rest.length);
    } else {
      const { upserts, deletes } = table.takeChanges();
      // Every changed row present now is inserted; only keys the last take's rows had are deleted first.
      expect(upserts).toEqual([...this.changes].filter((k) => this.rows.has(k)).map((k) => [k, this.rows.get(k)]));
      expect(deletes).toEqual([...this.changes].filter((k) => this.stored.has(k)));
      this.changes = new Set();
      this.stored = new Set(this.rows.keys());
    }
  }

  check(table: ChunkTable): void {
    const byKey = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    expect([...table.entries()].sort(byKey)).toEqual([...this.rows].sort(byKey));
    expect(table.size).toBe(this.rows.size);
    let checksum = 0n;
    for (const [key, row] of this.rows) checksum ^= rowHash('replicas', key, row);
    expect(table.checksum).toBe(checksum);
    expect(table.rowsChecksum()).toBe(checksum);
    expect(table.chunkCount).toBe([...this.files.values()].filter((f) => f.length > 0).length);
    expect(new Set(table.hashes())).toEqual(new Set(HASHES.filter((h) => this.known(h))));
    for (const h of HASHES) {
      const rows = [...this.rows.values()].filter((r) => r.chunk_hash === h).sort((a, b) => (a.node_id < b.node_id ? -1 : 1));
      expect(table.replicasOf(h), h).toEqual(rows);
      expect(table.hasChunk(h)).toBe(this.known(h));
      expect(table.sizeOf(h)).toBe(this.known(h) ? this.sizes.get(h) : undefined);
      expect(table.filesOf(h)).toEqual(this.files.get(h) ?? []);
      expect(table.hasFiles(h)).toBe((this.files.get(h)?.length ?? 0) > 0);
      for (const n of NODES) expect(table.get(`${h}|${n}`)).toEqual(this.rows.get(`${h}|${n}`));
    }
    for (const n of NODES) {
      const pending = [...this.rows.values()].filter((r) => r.node_id === n && r.state === 'pending').reduce((s, r) => s + r.size, 0);
      expect(table.pendingBytes(n), n).toBe(pending);
    }
    const counted = new Set(['a', 'b', 'c']);
    const under = HASHES.filter((h) => (this.files.get(h)?.length ?? 0) > 0
      && [...this.rows.values()].filter((r) => r.chunk_hash === h && counted.has(r.node_id)).length < this.files.get(h)!.length);
    expect(table.countUnderReplicated((id) => counted.has(id), (files) => (typeof files === 'string' ? 1 : files.length))).toBe(under.length);
  }
}

/** A table loaded in bulk from another's rows, as the store does. */
function reload(from: ChunkTable): ChunkTable {
  const to = new ChunkTable();
  bulkLoadReplicas(to, from);
  to.adoptChecksum(from.checksum);
  return to;
}

describe('ChunkTable', () => {
  it('matches a map of replica rows under random replica and file changes, with slots freed and reused', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 10, maxLength: 120, size: 'max' }), (ops) => {
      const table = new ChunkTable();
      const reference = new Reference();
      for (const o of ops) {
        reference.apply(table, o);
        reference.check(table);
      }
      // A bulk load of the rows gives the same rows, checksum and pending bytes (files are the loader's rebuild).
      const loaded = reload(table);
      const files = new Reference();
      for (const [key, row] of reference.rows) files.rows.set(key, row);
      for (const row of reference.rows.values()) files.sizes.set(row.chunk_hash, row.size);
      files.check(loaded);
    }), { numRuns: 80 });
  });

  it('reports pending-byte changes to its hook, one per pending replica added, changed or removed', () => {
    const seen: string[] = [];
    const table = new ChunkTable({ pendingChanged: (id) => seen.push(id) });
    table.setReplica('h', 'a', 'pending', 5);
    table.setReplica('h', 'a', 'stored', 5);
    table.setReplica('h', 'b', 'stored', 5);
    table.setReplica('h', 'c', 'pending', 5);
    table.deleteReplica('h', 'c');
    expect(seen).toEqual(['a', 'a', 'c', 'c']);
  });

  it('keeps a chunk with more holders than a slot holds inline', () => {
    const table = new ChunkTable();
    for (const n of NODES) table.setReplica('h', n, 'pending', 5);
    table.deleteReplica('h', 'b');
    expect(table.holderIds('h')).toEqual(['a', 'c', 'd', 'e', 'f']);
    expect(table.pendingBytes('f')).toBe(5);
    expect(table.size).toBe(5);
  });
});
