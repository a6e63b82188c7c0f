import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ChunkSlots, FileRecord } from '../../../src/state/file-record.js';
import { rowHash } from '../../../src/state/row-hash.js';
import { type FileRow, Model } from '../../../src/state/model.js';
import { register, run } from './fixtures.js';

const text = fc.oneof(fc.string(), fc.constantFrom('a"b', 'back\\slash', 'é漢😀', 'ctl\u0001'));
const row: fc.Arbitrary<FileRow> = fc.record({
  id: text, name: text, size: fc.nat(), chunk_size: fc.option(fc.nat(), { nil: null }), replication_factor: fc.integer({ min: 1, max: 5 }),
  created_at: fc.nat(), chunks: fc.array(fc.record({ hash: text, size: fc.oneof(fc.nat(), fc.constant(2 ** 40 + 1)) }), { maxLength: 6 }),
});

/** A chunk table stand-in: slot i holds the row's chunk i. */
const slotsOf = (plain: FileRow): [number[], ChunkSlots] =>
  [plain.chunks.map((_, i) => i), { hashAt: (slot) => plain.chunks[slot].hash, sizeAt: (slot) => plain.chunks[slot].size }];

describe('FileRecord', () => {
  it('serializes, hashes, spreads and lists its chunks exactly as the plain row', () => {
    fc.assert(fc.property(row, (plain) => {
      expect(FileRecord.fits(plain)).toBe(true);
      const record = FileRecord.of(plain, ...slotsOf(plain));
      expect(record).toBeInstanceOf(FileRecord);
      expect(JSON.stringify(record)).toBe(JSON.stringify(plain));
      expect(rowHash('files', plain.id, record)).toBe(rowHash('files', plain.id, plain));
      expect(record.chunks).toEqual(plain.chunks);
      expect(JSON.stringify({ ...record, chunks: record.chunks })).toBe(JSON.stringify(plain));
    }), { numRuns: 300 });
  });

  it('reads its chunks from the slots it is given', () => {
    const table: ChunkSlots = { hashAt: (slot) => `H${slot}`, sizeAt: (slot) => slot * 10 };
    const record = FileRecord.of({ id: 'f', name: 'n', size: 2, chunk_size: null, replication_factor: 1, created_at: 0,
      chunks: [{ hash: 'h1', size: 1 }, { hash: 'h2', size: 1 }] }, [7, 3], table);
    expect(record.chunks).toEqual([{ hash: 'H7', size: 70 }, { hash: 'H3', size: 30 }]);
  });

  it('stays the plain row when a chunk has no slot', () => {
    const plain: FileRow = { id: 'f', name: 'n', size: 2, chunk_size: null, replication_factor: 1, created_at: 0,
      chunks: [{ hash: 'h1', size: 1 }, { hash: 'h2', size: 1 }] };
    const [slots, table] = slotsOf(plain);
    expect(FileRecord.of(plain, [0, -1], table)).toBe(plain);
    expect(FileRecord.of(plain, [0], table)).toBe(plain);
    expect(FileRecord.of(plain, slots, table)).toBeInstanceOf(FileRecord);
  });

  it('does not fit a row it would serialize differently', () => {
    const base = { id: 'f', name: 'n', size: 2, chunk_size: null, replication_factor: 1, created_at: 0 };
    expect(FileRecord.fits({ ...base, chunks: [{ size: 1, hash: 'h' } as unknown as { hash: string; size: number }] })).toBe(false);
    expect(FileRecord.fits({ ...base, chunks: [{ hash: 'h', size: 1, extra: 1 } as unknown as { hash: string; size: number }] })).toBe(false);
    expect(FileRecord.fits({ ...base, chunks: [{ hash: 1, size: 1 } as unknown as { hash: string; size: number }] })).toBe(false);
    const { chunk_size: _, ...withoutChunkSize } = base;
    expect(FileRecord.fits({ ...withoutChunkSize, chunks: [] } as unknown as FileRow)).toBe(false);
    expect(FileRecord.fits({ chunks: [], ...base })).toBe(false);
  });
});

describe('Model.loadFile', () => {
  it('keeps a row that does not fit as it is (same checksum), and registers its chunks either way', () => {
    const model = new Model();
    const odd = { id: 'f1', name: 'n1', size: 2, chunk_size: null, replication_factor: 1, created_at: 0,
      chunks: [{ size: 1, hash: 'h1' } as unknown as { hash: string; size: number }] };
    const plain: FileRow = { id: 'f2', name: 'n2', size: 2, chunk_size: 7, replication_factor: 1, created_at: 0, chunks: [{ hash: 'h1', size: 1 }] };
    model.loadFile('f1', odd);
    model.loadFile('f2', plain);
    expect(model.files.get('f1')).toBe(odd);
    expect(model.files.get('f2')).toBeInstanceOf(FileRecord);
    expect(model.files.rowsChecksum()).toBe(rowHash('files', 'f1', odd) ^ rowHash('files', 'f2', plain));
    expect(model.replicas.filesOf('h1')).toEqual(['f1', 'f2']);
    expect(model.filesByName.get('n2')).toBe('f2');
  });
});

describe('Model.loadPackedFile', () => {
  it('gives the same rows and chunk registrations as loadFile of the plain row', () => {
    const hashes = ['a', 'b', 'c'].map((c) => c.repeat(64));
    const bytes = Buffer.concat([Buffer.from('pad'), ...hashes.map((h) => Buffer.from(h, 'hex'))]);
    const row = { id: 'f', name: 'n', size: 3, chunk_size: null, replication_factor: 1, created_at: 0,
      chunks: [{ hash: hashes[0], size: 1 }, { hash: hashes[1], size: 5 }, { hash: hashes[2], size: 1 }] };
    const [packed, plain] = [new Model(), new Model()];
    for (const model of [packed, plain]) model.replicas.loadHolders(hashes[1], 5, [], 0, 0); // chunk b known with size 5
    packed.loadPackedFile('f', { ...row, chunks: [1, 5, 1] }, bytes, 3);
    plain.loadFile('f', row);
    expect(JSON.stringify(packed.files.get('f'))).toBe(JSON.stringify(plain.files.get('f')));
    expect(packed.files.get('f')).toBeInstanceOf(FileRecord);
    for (const hash of hashes) expect(packed.replicas.filesOf(hash), hash).toEqual(plain.replicas.filesOf(hash));
    expect(packed.files.rowsChecksum()).toBe(plain.files.rowsChecksum());
    expect(packed.filesByName.get('n')).toBe('f');
  });

  it('refuses, as loadFile does, a chunk whose size disagrees with an earlier row, whichever row came first', () => {
    const hash = 'b'.repeat(64);
    const row = { id: 'f', name: 'n', size: 7, chunk_size: null, replication_factor: 1, created_at: 0, chunks: [{ hash, size: 7 }] };
    const known = (): Model => {
      const model = new Model();
      model.replicas.loadHolders(hash, 5, [], 0, 0);
      return model;
    };
    expect(() => known().loadPackedFile('f', { ...row, chunks: [7] }, Buffer.from(hash, 'hex'), 0)).toThrow(/damaged database: chunk b+ has size 7 in one row, 5 in another/);
    expect(() => known().loadFile('f', row)).toThrow(/has size 7 in one row, 5 in another/);
    const fileFirst = new Model();
    fileFirst.loadFile('f', row);
    expect(() => fileFirst.replicas.loadHolders(hash, 5, [], 0, 0)).toThrow(/has size 5 in one row, 7 in another/);
    expect(() => fileFirst.replicas.loadHoldersOfBytes(Buffer.from(hash, 'hex'), 0, 5, [], 0, 0)).toThrow(/has size 5 in one row, 7 in another/);
  });
});

describe('FileRecord in the model', () => {
  it('lists exactly the chunks it was registered with while files sharing chunks come and go (slots freed and reused)', () => {
    const pool = Array.from({ length: 6 }, (_, i) => i.toString(16).repeat(64));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('register' as const), file: fc.nat(7), chunks: fc.array(fc.nat(pool.length - 1), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('delete' as const), file: fc.nat(7) }),
      fc.record({ kind: fc.constant('lose' as const), chunk: fc.nat(pool.length - 1) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const model = new Model();
      register(model, 'a');
      const live = new Map<string, FileRow['chunks']>();
      for (const o of ops) {
        if (o.kind === 'register') {
          const chunks = o.chunks.map((c) => ({ hash: pool[c], size: 100 + c }));
          const result = run(model, { type: 'file.register', file_id: `f${o.file}`, name: `n${o.file}`, size: 1, chunks });
          if (result.ok) live.set(`f${o.file}`, chunks);
        } else if (o.kind === 'delete') {
          if (run(model, { type: 'file.delete', file_id: `f${o.file}` }).ok) live.delete(`f${o.file}`);
        } else {
          run(model, { type: 'replica.report', node_id: 'a', stored: [], lost: [pool[o.chunk]] });
        }
        for (const [id, chunks] of live) expect(model.files.get(id)!.chunks).toEqual(chunks);
      }
      expect(model.files.rowsChecksum()).toBe(model.files.checksum);
    }), { numRuns: 300 });
  });
});
