import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashOf, keyOf } from '../../../src/state/chunk-key.js';

const hex = (length: number, digits = '0123456789abcdef') => fc.array(fc.constantFrom(...digits), { minLength: length, maxLength: length }).map((d) => d.join(''));
/** Hashes near the packed form: 64 lowercase hex digits, one digit changed, other lengths, 32-character strings. */
const hash = fc.oneof(
  hex(64),
  fc.tuple(hex(64), fc.nat(63), fc.constantFrom('A', 'g', 'F', '\u0001', 'é', '/', ':', '`')).map(([h, i, c]) => h.slice(0, i) + c + h.slice(i + 1)),
  hex(63), hex(65), hex(32), hex(64, '0123456789ABCDEF'),
  fc.string({ maxLength: 70 }), fc.string({ minLength: 31, maxLength: 34 }), fc.string({ minLength: 31, maxLength: 34, unit: 'binary' }),
  fc.string({ maxLength: 3 }).map((s) => `\u0001${s}`),
);

describe('chunk keys', () => {
  it('hashOf inverts keyOf, and keyOf is one-to-one', () => {
    fc.assert(fc.property(hash, hash, (a, b) => {
      expect(hashOf(keyOf(a))).toBe(a);
      expect(keyOf(a) === keyOf(b)).toBe(a === b);
    }), { numRuns: 2_000 });
  });

  it('packs a lowercase 64-digit hex hash into 32 one-byte characters, and only that', () => {
    fc.assert(fc.property(hex(64), (h) => {
      const key = keyOf(h);
      expect(key).toHaveLength(32);
      expect([...key].every((c) => c.charCodeAt(0) < 256)).toBe(true);
    }));
    expect(keyOf('ff'.repeat(32))).toBe('\u00ff'.repeat(32));
    expect(keyOf('0A'.repeat(32))).toBe(`\u0001${'0A'.repeat(32)}`);
    expect(keyOf('x'.repeat(32))).toBe(`\u0001${'x'.repeat(32)}`);
    expect(keyOf('h1')).toBe('h1');
  });
});
