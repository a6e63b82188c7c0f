import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uuidV7 } from '../../../src/api/uuid-v7.js';

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string): number => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('uuidV7', () => {
  it('has the RFC 9562 shape (version 7, variant 10) and carries its time in the first 48 bits', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (now) => {
      const id = uuidV7(now);
      expect(id).toMatch(SHAPE);
      expect(timeOf(id)).toBe(now);
    }), { numRuns: 2000 });
  });

  it('sorts by time as a string: an id of a later millisecond sorts after one of an earlier', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 2 }), fc.integer({ min: 1, max: 2 ** 20 }), (early, step) => {
      const late = Math.min(2 ** 48 - 1, early + step);
      expect(uuidV7(early) < uuidV7(late)).toBe(true);
    }), { numRuns: 2000 });
  });

  it('makes distinct ids within one millisecond, across many refills of its random pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50_000; i++) ids.add(uuidV7(1_700_000_000_000));
    expect(ids.size).toBe(50_000);
    // The random part is not stuck: every hex digit shows up in the last group's first position.
    expect(new Set([...ids].map((id) => id[24])).size).toBe(16);
  });

  it('refuses a time that does not fit 48 bits', () => {
    for (const bad of [-1, 2 ** 48, 1.5, Number.NaN]) expect(() => uuidV7(bad)).toThrow(RangeError);
  });
});
