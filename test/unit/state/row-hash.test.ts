// The row hash walks a row as its JSON text: rows with the same text hash alike (so a
// row read back from DuckDB hashes as in the model), different texts apart.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rowHash } from '../../../src/state/row-hash.js';

/** JSON-like values with the things JSON.stringify smooths over: undefined fields, -0, toJSON, non-finite numbers. */
const loose: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }), fc.constantFrom(-0, 0, undefined, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2, 1.5, -7, ''),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
    tie('value').map((inner) => ({ toJSON: () => inner }))),
})).value;

describe('row hash', () => {
  it('hashes a row like the row its JSON text parses to', () => {
    fc.assert(fc.property(fc.string(), loose, (key, row) => {
      const text = JSON.stringify(row);
      fc.pre(text !== undefined); // a bare undefined or function has no JSON text
      expect(rowHash('t', key, row)).toBe(rowHash('t', key, JSON.parse(text)));
    }), { numRuns: 2000 });
  });

  it('tells different JSON texts, keys and tables apart', () => {
    const seen = new Map<bigint, string>();
    fc.assert(fc.property(fc.constantFrom('nodes', 'tasks', 'files'), fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), (table, key, row) => {
      const identity = JSON.stringify([table, key, row]);
      const hash = rowHash(table, key, row);
      const before = seen.get(hash);
      if (before !== undefined) expect(before).toBe(identity);
      seen.set(hash, identity);
    }), { numRuns: 5000 });
    expect(seen.size).toBeGreaterThan(2000);
    // Boundaries between the parts, field order and types all count.
    expect(rowHash('ab', 'c', null)).not.toBe(rowHash('a', 'bc', null));
    expect(rowHash('t', 'k', { a: 1, b: 2 })).not.toBe(rowHash('t', 'k', { b: 2, a: 1 }));
    expect(rowHash('t', 'k', { a: '1' })).not.toBe(rowHash('t', 'k', { a: 1 }));
    expect(rowHash('t', 'k', [[1], 2])).not.toBe(rowHash('t', 'k', [[1, 2]]));
    expect(rowHash('t', 'k', 2 ** 32)).not.toBe(rowHash('t', 'k', 1));
    expect(rowHash('t', 'k', 5e-324)).not.toBe(rowHash('t', 'k', 1)); // the smallest float's bits are the words of 1
    // No value passes for a run of others: each says where it ends.
    expect(rowHash('t', 'k', ['a', 'b'])).not.toBe(rowHash('t', 'k', ['a""b']));
    expect(rowHash('t', 'k', ['a"b', 'c'])).not.toBe(rowHash('t', 'k', ['a', 'b"c']));
    expect(rowHash('t', 'a', 'b')).not.toBe(rowHash('t', 'a"b', 'x'.slice(1)));
    expect(rowHash('t', 'k', { a: 'b', c: 'd' })).not.toBe(rowHash('t', 'k', { a: 'b""c""d' }));
    expect(rowHash('t', 'k', ['a', 5, 'b'])).not.toBe(rowHash('t', 'k', ['a"#\u0005\u0000"b']));
    expect(rowHash('t', 'k', [[], []])).not.toBe(rowHash('t', 'k', [[[]]]));
    expect(rowHash('t', 'k', [{}, {}])).not.toBe(rowHash('t', 'k', [{ '': {} }]));
  });

  it('tells apart strings that imitate the encoding of neighbouring values', () => {
    // Values built from the encoding's own units (tags as characters), where a hash without lengths collides.
    const unit = fc.constantFrom('"', '#', '[', ']', '{', '}', 'n', 't', 'f', '\u0000', '\u0001', '\u0005', 'a');
    const value = fc.oneof(fc.string({ unit, maxLength: 6 }), fc.constantFrom(0, 1, 5, null, true), fc.constant([]));
    const seen = new Map<bigint, string>();
    fc.assert(fc.property(fc.array(value, { maxLength: 4 }), (row) => {
      const identity = JSON.stringify(row);
      const hash = rowHash('t', 'k', row);
      const before = seen.get(hash);
      if (before !== undefined) expect(before).toBe(identity);
      seen.set(hash, identity);
    }), { numRuns: 5000 });
    expect(seen.size).toBeGreaterThan(2000);
  });

  it('stays the function the stored checksums were made with (a change needs a schema version and a migration)', () => {
    const task = { id: 't1', kind: 'bench', payload: { n: 1 }, status: 'queued', priority: 1, required_capabilities: [], worker_id: null,
      lease_expires_at: null, attempts: 0, max_attempts: 3, result: null, error: null, created_at: 1_765_000_000_000, updated_at: 1_765_000_000_000 };
    expect(rowHash('tasks', 't1', task).toString(16)).toBe('8f24d9470f65ad33');
    expect(rowHash('tasks', 't1', { ...task, priority: -1.25 }).toString(16)).toBe('c649ad6d1f56b53b');
  });
});
