// How a file's chunk list is stored: packed when every hash is lowercase 64-digit hex,
// JSON otherwise; either way it reads back as exactly the list that was written.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChunkList, encodeChunkList } from '../../../src/state/store/chunk-list.js';

const hex = fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: 64, maxLength: 64 }).map((d) => d.join(''));
const hash = fc.oneof({ arbitrary: hex, weight: 4 }, { arbitrary: fc.oneof(fc.string({ maxLength: 70 }), hex.map((h) => h.toUpperCase())), weight: 1 });
const size = fc.oneof(fc.nat(), fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER));

describe('chunk list storage', () => {
  it('reads back every list exactly (same JSON), packed only when every hash is lowercase hex', () => {
    fc.assert(fc.property(fc.array(fc.record({ hash, size }), { maxLength: 6 }), (list) => {
      const chunks = list.map(({ hash: h, size: s }) => ({ hash: h, size: s }));
      const stored = encodeChunkList(chunks);
      const packable = chunks.length > 0 && chunks.every((c) => /^[0-9a-f]{64}$/.test(c.hash));
      expect(stored.startsWith('#')).toBe(packable);
      if (!packable) expect(stored).toBe(JSON.stringify(chunks));
      expect(JSON.stringify(decodeChunkList(stored))).toBe(JSON.stringify(chunks));
    }), { numRuns: 300 });
  });

  it('keeps as JSON a list whose objects are not exactly { hash, size }', () => {
    const h = 'a'.repeat(64);
    for (const odd of [[{ size: 1, hash: h }], [{ hash: h, size: 1, extra: true }], [{ hash: h, size: 1.5 }], [{ hash: h, size: -1 }]]) {
      const stored = encodeChunkList(odd as never);
      expect(stored).toBe(JSON.stringify(odd));
      expect(decodeChunkList(stored)).toEqual(odd);
    }
  });

  it('refuses a damaged packed list with a clear error', () => {
    const h = 'b'.repeat(64);
    for (const bad of [`#${h}`, `#${h}|[1,2]`, `#${h.slice(1)}|[1]`, `#${h.toUpperCase()}|[1]`, `#${h}|{"a":1}`]) {
      expect(() => decodeChunkList(bad)).toThrow(/damaged packed chunk list|JSON/);
    }
    expect(decodeChunkList(`#${h}${h}|[1,2]`)).toEqual([{ hash: h, size: 1 }, { hash: h, size: 2 }]);
  });
});
