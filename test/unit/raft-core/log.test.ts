import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../raft/core/index.js';
import { RaftLog } from '../../../raft/core/log.js';
import { entriesOf, entry } from './network.js';

const fresh = (entries = entriesOf(1, 5, 1), committed = 0) =>
  new RaftLog({ offset: 0, offsetTerm: 0, entries, committed, applied: 0 });

describe('raft log', () => {
  it('answers term, matchTerm and up-to-date checks', () => {
    const log = fresh([...entriesOf(1, 3, 1), ...entriesOf(4, 5, 2)]);
    expect(log.term(0)).toBe(0);
    expect(log.term(4)).toBe(2);
    expect(log.term(6)).toBeUndefined();
    expect(log.matchTerm(3, 1)).toBe(true);
    expect(log.isUpToDate(5, 2)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
  });

  it('merge keeps agreeing entries and truncates at the first conflict', () => {
    const log = fresh();
    log.mergeAfter(2, [entry(3, 1, 'e3'), entry(4, 3), entry(5, 3)]);
    expect(log.lastIndex()).toBe(5);
    expect(log.term(3)).toBe(1);
    expect(log.term(4)).toBe(3);
    // A shorter, older message that agrees does not truncate what follows.
    log.mergeAfter(1, [entry(2, 1, 'e2')]);
    expect(log.lastIndex()).toBe(5);
  });

  it('refuses to truncate committed entries', () => {
    const log = fresh(entriesOf(1, 5, 1), 4);
    expect(() => log.mergeAfter(2, [entry(3, 2)])).toThrow(InvariantError);
  });

  it('limits slices by count and bytes but always yields one entry', () => {
    const log = fresh([entry(1, 1, 'x'.repeat(10)), entry(2, 1, 'y'.repeat(10)), entry(3, 1, 'z'.repeat(10))]);
    expect(log.sliceLimited(1, 10, 25)?.map((e) => e.index)).toEqual([1, 2]);
    expect(log.sliceLimited(1, 10, 1)?.map((e) => e.index)).toEqual([1]);
    expect(log.sliceLimited(1, 1, 1000)?.map((e) => e.index)).toEqual([1]);
  });

  it('compaction keeps the term at the compaction point and hides older entries', () => {
    const log = fresh(entriesOf(1, 5, 1), 4);
    log.applied = 4;
    log.compactThrough(3);
    expect(log.firstIndex()).toBe(4);
    expect(log.term(3)).toBe(1);
    expect(log.term(2)).toBeUndefined();
    expect(log.slice(2, 5)).toBeUndefined();
    expect(() => log.compactThrough(5)).toThrow(InvariantError); // beyond applied
  });

  it('fast back-tracking hint: last index with term ≤ the given term', () => {
    const log = fresh([...entriesOf(1, 3, 1), ...entriesOf(4, 8, 2)]);
    expect(log.lastIndexWithTermAtMost(8, 1)).toBe(3);
    expect(log.lastIndexWithTermAtMost(6, 5)).toBe(6);
    expect(log.lastIndexWithTermAtMost(8, 0)).toBe(0);
  });

  it('rejects a commit beyond the last index on load (etcd#10166)', () => {
    expect(() => fresh(entriesOf(1, 2, 1), 5)).toThrow(/etcd#10166/);
  });
});
