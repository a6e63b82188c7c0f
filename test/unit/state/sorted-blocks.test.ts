import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedBlocks } from '../../../src/state/sorted-blocks.js';

interface Item { readonly key: number; readonly id: number }
const before = (a: Item, b: Item) => a.key > b.key || (a.key === b.key && a.id < b.id);

describe('SortedBlocks', () => {
  it('matches a sorted array under random inserts and removes, across block splits', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2000 })), { minLength: 800, maxLength: 3000, size: 'max' }),
      (ops) => {
        const blocks = new SortedBlocks<Item>(before);
        const live = new Map<number, Item>();
        for (const [add, key, id] of ops) {
          const existing = live.get(id);
          if (existing !== undefined) {
            expect(blocks.remove(existing)).toBe(true);
            live.delete(id);
          }
          if (add) {
            const item = { key, id };
            blocks.insert(item);
            live.set(id, item);
          } else {
            expect(blocks.remove({ key, id })).toBe(false); // never there: not the same object, or removed
          }
        }
        const expected = [...live.values()].sort((a, b) => (before(a, b) ? -1 : 1));
        expect([...blocks]).toEqual(expected);
        expect(blocks.size).toBe(expected.length);
        const firstTen: Item[] = [];
        blocks.forEachUntil((item) => firstTen.push(item) < 10);
        expect(firstTen).toEqual(expected.slice(0, 10));
      }), { numRuns: 30 });
  });

  it('keeps the order when most inserts go after everything held (the append path), across block splits', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 5 })), { minLength: 1500, maxLength: 3000, size: 'max' }),
      (ops) => {
        const blocks = new SortedBlocks<Item>(before);
        const live: Item[] = [];
        let nextId = 0;
        for (const [choice, key] of ops) {
          if (choice === 0 && live.length > 0) {
            const [gone] = live.splice((key * 7919 + nextId) % live.length, 1);
            expect(blocks.remove(gone)).toBe(true);
          } else {
            // Mostly the lowest key with a growing id: after every item held. Now and then a higher key: somewhere inside.
            const item = { key: choice === 1 ? key + 1 : 0, id: nextId++ };
            blocks.insert(item);
            live.push(item);
          }
        }
        const expected = [...live].sort((a, b) => (before(a, b) ? -1 : 1));
        expect([...blocks]).toEqual(expected);
        expect(blocks.size).toBe(expected.length);
      }), { numRuns: 30 });
  });
});
