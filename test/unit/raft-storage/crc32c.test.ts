import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, crc32cBytewise } from '../../../raft/storage/crc32c.js';

describe('crc32c', () => {
  it('matches the published check value and RFC 3720 vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('slicing-by-8 equals the byte-wise definition at every length and seed', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 0xffffffff }), (bytes, seed) => {
      expect(crc32c(bytes, seed)).toBe(crc32cBytewise(bytes, seed));
    }), { numRuns: 500 });
  });

  it('chains: crc(a ++ b) = crc(b, seed crc(a))', () => {
    fc.assert(fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => {
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      expect(crc32c(b, crc32c(a))).toBe(crc32c(joined));
    }));
  });

  it('detects every single-bit flip', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), (bytes, at) => {
      const flipped = Uint8Array.from(bytes);
      const bit = at % (bytes.length * 8);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      expect(crc32c(flipped)).not.toBe(crc32c(bytes));
    }));
  });
});
