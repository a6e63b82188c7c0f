// HashedTable's change list, as the flusher uses it: every changed row present now is
// inserted, and only keys the table had at the last take (the rows a database flushed
// then holds) are deleted first. Checked against a plain map standing in for the database.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashedTable } from '../../../src/state/hashed-table.js';
import { rowHash } from '../../../src/state/row-hash.js';

const op = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.nat(3) }),
  // `replace` with the row just read, as the apply functions call it to save a lookup.
  fc.record({ op: fc.constant('replace' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.nat(3) }),
  fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
  fc.record({ op: fc.constant('take' as const) }),
);

describe('HashedTable', () => {
  it('hands the flusher exactly the deletes and inserts that bring a flushed copy up to date', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const table = new HashedTable<{ value: number }>('t');
      const database = new Map<string, { value: number }>();
      for (const o of [...ops, { op: 'take' as const }]) {
        if (o.op === 'set') table.set(o.key, { value: o.value });
        else if (o.op === 'replace') table.replace(o.key, table.get(o.key), { value: o.value });
        else if (o.op === 'delete') table.delete(o.key);
        else {
          const { upserts, deletes } = table.takeChanges();
          for (const key of deletes) expect(database.delete(key), `${key} is deleted only if stored`).toBe(true);
          for (const [key, row] of upserts) {
            expect(database.has(key), `${key} is inserted only once`).toBe(false);
            database.set(key, row);
          }
          expect(new Map(table.entries())).toEqual(database);
          expect(table.changeCount).toBe(0);
        }
      }
      let checksum = 0n;
      for (const [key, row] of database) checksum ^= rowHash('t', key, row);
      expect(table.checksum).toBe(checksum);
    }), { numRuns: 300 });
  });

  it('deletes a stored key that is replaced, not a key added since the last take', () => {
    const table = new HashedTable<{ value: number }>('t');
    table.set('old', { value: 1 });
    table.takeChanges();
    table.set('old', { value: 2 });
    table.set('new', { value: 3 });
    table.delete('new');
    table.set('fresh', { value: 4 });
    expect(table.takeChanges()).toEqual({ upserts: [['old', { value: 2 }], ['fresh', { value: 4 }]], deletes: ['old'] });
  });
});
