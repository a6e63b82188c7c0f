// The chunk index against a Map: random sets and deletes over hashes that are mostly
// 64-digit lowercase hex (kept as words) and some that are not (kept as strings).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkIndex } from '../../../src/state/chunk-index.js';

const hex = (length: number) => fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: length, maxLength: length }).map((d) => d.join(''));
/** Hashes near the packed form: one character off, other lengths, upper case, anything. */
const other = fc.oneof(
  fc.tuple(hex(64), fc.nat(63), fc.constantFrom('A', 'g', 'F', '\u0001', 'é', '/', ':', '`')).map(([h, i, c]) => h.slice(0, i) + c + h.slice(i + 1)),
  hex(63), hex(65), hex(32), fc.string({ maxLength: 70 }),
);

type Op = { op: 'set' | 'add' | 'delete'; at: number };

const HEX = /^[0-9a-f]{64}$/;

describe('ChunkIndex', () => {
  it('finds, gives back and forgets every hash as a Map would, through growth and deletes', () => {
    const pool = fc.uniqueArray(fc.oneof({ arbitrary: hex(64), weight: 4 }, { arbitrary: other, weight: 1 }), { minLength: 1, maxLength: 80 });
    const ops = fc.array(fc.record({ op: fc.constantFrom<Op['op']>('set', 'add', 'delete'), at: fc.nat() }), { maxLength: 300 });
    fc.assert(fc.property(pool, ops, (hashes, script) => {
      const index = new ChunkIndex();
      const reference = new Map<string, number>();
      const free: number[] = [];
      let next = 0;
      for (const { op, at } of script) {
        const hash = hashes[at % hashes.length];
        const slot = reference.get(hash);
        if (op === 'add' && HEX.test(hash)) {
          // As a bulk load does: the hash as bytes (in a larger buffer), found or placed at the next free slot.
          const bytes = Buffer.concat([Buffer.from('xyz'), Buffer.from(hash, 'hex')]);
          const candidate = free.at(-1) ?? next;
          index.reserve(candidate + 1);
          const got = index.addBytes(bytes, 3, candidate);
          if (slot !== undefined) {
            expect(got).toBe(slot);
          } else {
            expect(got).toBe(candidate);
            if (free.pop() === undefined) next++;
            reference.set(hash, candidate);
          }
        } else if (op !== 'delete' && slot === undefined) {
          const taken = free.pop() ?? next++;
          index.reserve(taken + 1);
          index.set(hash, taken);
          reference.set(hash, taken);
        } else if (op === 'delete' && slot !== undefined) {
          index.delete(slot);
          reference.delete(hash);
          free.push(slot);
        }
      }
      expect(index.size).toBe(reference.size);
      for (const hash of hashes) expect(index.get(hash)).toBe(reference.get(hash) ?? -1);
      for (const [hash, slot] of reference) expect(index.hashAt(slot)).toBe(hash);
    }), { numRuns: 300 });
  });

  it('refuses bytes that do not hold a whole hash at the offset', () => {
    const index = new ChunkIndex();
    index.reserve(1);
    expect(() => index.addBytes(new Uint8Array(40), 9, 0)).toThrow(RangeError);
    expect(() => index.addBytes(new Uint8Array(40), -1, 0)).toThrow(RangeError);
    expect(index.size).toBe(0);
  });

  it('keeps many hashes that differ in one word apart', () => {
    const index = new ChunkIndex();
    const hashes = Array.from({ length: 5_000 }, (_, i) => `${i.toString(16).padStart(8, '0')}${'0'.repeat(56)}`);
    index.reserve(hashes.length);
    hashes.forEach((h, slot) => index.set(h, slot));
    for (let slot = 0; slot < hashes.length; slot += 2) index.delete(slot);
    hashes.forEach((h, slot) => expect(index.get(h)).toBe(slot % 2 === 0 ? -1 : slot));
    expect(index.size).toBe(2_500);
  });
});
