// In-memory image of what the write-ahead log holds, rebuilt on open by
// replaying records and kept current by every successful persist.

import type { Entry, HardState, SnapshotMeta } from '../core/types.js';

export interface LogUpdate {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: SnapshotMeta | null;
}

export class LogImage {
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  snapshot: SnapshotMeta | null = null;
  /** Entries after `compactedThrough`, contiguous. */
  entries: Entry[] = [];
  compactedThrough = 0;
  /**
   * Whether where the log continues is fixed: by an entry or an installed snapshot, not
   * by a compaction marker alone. Replay may start in a segment whose first record is an
   * older marker (compaction deletes whole segments and a marker can open a segment), and
   * the entries after it legitimately start beyond that marker's point.
   */
  anchored = false;

  apply(update: LogUpdate): void {
    if (update.snapshot !== null) this.installSnapshot(update.snapshot);
    if (update.entries.length > 0) this.append(update.entries);
    if (update.hardState !== null) this.hardState = update.hardState;
  }

  firstIndex(): number {
    return this.entries.length > 0 ? this.entries[0].index : this.compactedThrough + 1;
  }

  lastIndex(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].index : this.compactedThrough;
  }

  /** Raft Fig. 13 rule 6/7: keep what follows the snapshot only if the log agrees at its index. */
  installSnapshot(meta: SnapshotMeta): void {
    const at = this.entries.find((e) => e.index === meta.index);
    this.entries = at !== undefined && at.term === meta.term ? this.entries.filter((e) => e.index > meta.index) : [];
    this.snapshot = meta;
    this.compactedThrough = meta.index;
    this.anchored = true;
  }

  /** Drop entries ≤ throughIndex (covered by `meta`); the rest stays whatever it is. */
  compact(throughIndex: number, meta: SnapshotMeta): void {
    this.entries = this.entries.filter((e) => e.index > throughIndex);
    this.snapshot = meta;
    this.compactedThrough = Math.max(this.compactedThrough, throughIndex);
  }

  /** Append, truncating any suffix that starts at or after the first new index. Returns an error text on a gap. */
  append(entries: readonly Entry[]): string | null {
    const first = entries[0].index;
    if (first > this.lastIndex() + 1 && this.anchored) {
      return `entry ${first} leaves a gap after the last index ${this.lastIndex()}`;
    }
    if (first <= this.lastIndex()) this.entries = this.entries.filter((e) => e.index < first);
    if (this.entries.length === 0) this.compactedThrough = first - 1;
    this.entries.push(...entries);
    this.anchored = true;
    return null;
  }
}

/** Validate caller input: entries contiguous with integer indices/terms. */
export function entriesProblem(entries: readonly Entry[]): string | null {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!Number.isSafeInteger(e.index) || e.index < 1 || !Number.isSafeInteger(e.term) || e.term < 0) {
      return `entry ${i} has an invalid index or term`;
    }
    if (i > 0 && e.index !== entries[i - 1].index + 1) return `entries are not contiguous at ${e.index}`;
  }
  return null;
}
