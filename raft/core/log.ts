// The in-memory Raft log since the last compaction point, with the cursors the
// Ready loop needs.
//
// Invariants (checked by assertInvariants):
//   offset ≤ applied ≤ committed ≤ lastIndex
//   persisted ≤ lastIndex, entries[i].index === offset + 1 + i
//   terms never decrease along the log
// `offset` is the index just before the first held entry; `offsetTerm` its term
// (the compaction point, or the snapshot an empty log starts from).

import { assert } from './assert.js';
import type { Entry } from './types.js';

export class RaftLog {
  #entries: Entry[];
  #offset: number;
  #offsetTerm: number;
  committed: number;
  applied: number;
  /** Entries ≤ persisted are durable on this node (acknowledged by advance()). */
  persisted: number;
  /** First index not yet handed to the driver for persistence. */
  unstableFrom: number;

  constructor(options: { offset: number; offsetTerm: number; entries: readonly Entry[]; committed: number; applied: number }) {
    this.#offset = options.offset;
    this.#offsetTerm = options.offsetTerm;
    this.#entries = [...options.entries];
    this.#entries.forEach((e, i) => assert(e.index === options.offset + 1 + i, `log entries must be contiguous from ${options.offset + 1}`));
    this.committed = options.committed;
    this.applied = options.applied;
    this.persisted = this.lastIndex();
    this.unstableFrom = this.lastIndex() + 1;
    assert(this.committed <= this.lastIndex(), () => `commit ${this.committed} is beyond the last index ${this.lastIndex()} (lost fsync? etcd#10166)`);
    this.assertInvariants();
  }

  get offset(): number {
    return this.#offset;
  }

  firstIndex(): number {
    return this.#offset + 1;
  }

  lastIndex(): number {
    return this.#offset + this.#entries.length;
  }

  lastTerm(): number {
    return this.#entries.length === 0 ? this.#offsetTerm : this.#entries[this.#entries.length - 1].term;
  }

  /** Term at `index`, or undefined when compacted away or not yet written. */
  term(index: number): number | undefined {
    if (index === this.#offset) return this.#offsetTerm;
    if (index < this.#offset || index > this.lastIndex()) return undefined;
    return this.#entries[index - this.#offset - 1].term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.#offset || index > this.lastIndex()) return undefined;
    return this.#entries[index - this.#offset - 1];
  }

  /** Raft §5.4.1: is (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [from, to), or undefined if `from` was compacted. */
  slice(from: number, to: number): Entry[] | undefined {
    if (from <= this.#offset) return undefined;
    const end = Math.min(to, this.lastIndex() + 1);
    if (from >= end) return [];
    return this.#entries.slice(from - this.#offset - 1, end - this.#offset - 1);
  }

  /** Entries from `from` limited by count and bytes (at least one if any exist). */
  sliceLimited(from: number, maxCount: number, maxBytes: number): Entry[] | undefined {
    const candidates = this.slice(from, from + maxCount);
    if (candidates === undefined) return undefined;
    let bytes = 0;
    let n = 0;
    for (const entry of candidates) {
      bytes += entry.data.length;
      if (n > 0 && bytes > maxBytes) break;
      n++;
    }
    return candidates.slice(0, n);
  }

  /** Leader: append new entries at the end. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(entry.index === this.lastIndex() + 1, () => `append at ${entry.index} after ${this.lastIndex()}`);
      assert(entry.term >= this.lastTerm(), () => `term ${entry.term} below last term ${this.lastTerm()}`);
      this.#entries.push(entry);
    }
  }

  /**
   * Follower: merge entries that follow a matched (prevIndex, prevTerm).
   * Existing entries that agree are kept; the first conflict truncates the
   * suffix (paper §5.3). Never truncates committed entries.
   */
  mergeAfter(prevIndex: number, entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      assert(entry.index === prevIndex + 1 + i, 'append entries must be contiguous');
      const existing = this.term(entry.index);
      if (existing === entry.term) continue;
      if (entry.index <= this.#offset) continue;
      if (existing !== undefined) {
        assert(entry.index > this.committed, () => `conflict at committed index ${entry.index}`);
        this.truncateFrom(entry.index);
      }
      this.append(entries.slice(i));
      return;
    }
  }

  /** Drop entries ≥ index (uncommitted suffix only). */
  truncateFrom(index: number): void {
    assert(index > this.committed, () => `truncate at ${index} would drop committed entries (commit ${this.committed})`);
    this.#entries.length = Math.max(0, index - this.#offset - 1);
    this.persisted = Math.min(this.persisted, index - 1);
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Last index of an entry whose term ≤ term, at or below `index` (fast back-tracking hint). */
  lastIndexWithTermAtMost(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.#offset) {
      const t = this.term(i);
      if (t !== undefined && t <= term) return i;
      i--;
    }
    return this.#offset;
  }

  /** Entries to persist (handed to the driver, not yet acknowledged). */
  unstableEntries(): Entry[] {
    return this.slice(this.unstableFrom, this.lastIndex() + 1) ?? [];
  }

  /** Committed entries not yet applied (nor handed out through `takenThrough`), up to `maxCount`. */
  nextCommitted(maxCount: number, takenThrough = 0): Entry[] {
    const from = Math.max(this.applied, takenThrough) + 1;
    return this.slice(from, Math.min(this.committed + 1, from + maxCount)) ?? [];
  }

  /** Drop entries ≤ index (compaction). Keeps the term at `index` as offsetTerm. */
  compactThrough(index: number): void {
    if (index <= this.#offset) return;
    assert(index <= this.applied, () => `compaction at ${index} beyond applied ${this.applied}`);
    const term = this.term(index);
    assert(term !== undefined, `no term at compaction index ${index}`);
    this.#entries = this.#entries.slice(index - this.#offset);
    this.#offset = index;
    this.#offsetTerm = term;
  }

  /** Replace everything with an empty log that starts after a snapshot (fig. 13 rule 7). */
  restore(index: number, term: number): void {
    assert(index > this.committed, () => `snapshot ${index} is not past commit ${this.committed}`);
    this.#entries = [];
    this.#offset = index;
    this.#offsetTerm = term;
    this.committed = index;
    this.persisted = Math.min(this.persisted, index);
    this.unstableFrom = index + 1;
  }

  assertInvariants(): void {
    assert(this.applied <= this.committed, () => `applied ${this.applied} > committed ${this.committed}`);
    assert(this.committed <= this.lastIndex(), () => `committed ${this.committed} > last ${this.lastIndex()}`);
  }
}
