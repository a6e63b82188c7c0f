import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INLINE, SlotLists } from '../../../src/state/slot-lists.js';

type Op = { op: 'push'; slot: number; value: number } | { op: 'set' | 'remove'; slot: number; at: number; value: number } | { op: 'clear'; slot: number };

const SLOTS = 3;
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('push' as const), slot: fc.nat(SLOTS - 1), value: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }), weight: 4 },
  fc.record({ op: fc.constantFrom('set' as const, 'remove' as const), slot: fc.nat(SLOTS - 1), at: fc.nat(INLINE + 2), value: fc.nat() }),
  fc.record({ op: fc.constant('clear' as const), slot: fc.nat(SLOTS - 1) }),
);

describe('SlotLists', () => {
  it('matches one array per slot under random pushes, sets, removals and clears, inline and moved', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 20, maxLength: 200, size: 'max' }), (ops) => {
      const lists = new SlotLists();
      const model: number[][] = [];
      for (const o of ops) {
        if (o.slot >= lists.capacity) lists.reserve(o.slot + 1);
        while (model.length < lists.capacity) model.push([]);
        const list = model[o.slot];
        if (o.op === 'push') {
          lists.push(o.slot, o.value);
          list.push(o.value);
        } else if (o.op === 'clear') {
          lists.clear(o.slot);
          list.length = 0;
        } else if (o.at < list.length) {
          if (o.op === 'set') {
            lists.set(o.slot, o.at, o.value);
            list[o.at] = o.value;
          } else {
            lists.removeAt(o.slot, o.at);
            list.splice(o.at, 1);
          }
        }
        for (let slot = 0; slot < model.length; slot++) {
          expect(Array.from({ length: lists.length(slot) }, (_, i) => lists.at(slot, i)), `slot ${slot}`).toEqual(model[slot]);
        }
      }
    }), { numRuns: 200 });
  });

  it('keeps every slot across growth, and a list longer than INLINE', () => {
    const lists = new SlotLists();
    for (let slot = 0; slot < 1_000; slot++) {
      lists.reserve(slot + 1);
      for (let i = 0; i <= slot % (INLINE + 3); i++) lists.push(slot, slot * 10 + i);
    }
    expect(lists.capacity).toBeGreaterThanOrEqual(1_000);
    for (let slot = 0; slot < 1_000; slot++) {
      const n = (slot % (INLINE + 3)) + 1;
      expect(lists.length(slot)).toBe(n);
      expect(Array.from({ length: n }, (_, i) => lists.at(slot, i))).toEqual(Array.from({ length: n }, (_, i) => slot * 10 + i));
    }
  });
});
