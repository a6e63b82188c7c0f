// The keys of a table changed since the last flush, each with whether the database
// held it at that flush. The database mirrors the table as of its last flush, so a key
// is in the database exactly when the table had it just before its first change since.
// A flush then deletes only keys the database holds and inserts every present row: a
// key added since (most writes: a new task, node or file) costs no DELETE.

/** What a flush writes for one table: keys to delete from the database, then rows to insert. */
export interface TableChangeList<T> {
  readonly upserts: [string, T][];
  /** Keys the database holds that were deleted or replaced: an upserted key is here too when its old row is stored. */
  readonly deletes: string[];
}

export class ChangeSet {
  /** Changed key → whether the database holds it (the table had it at the last take). */
  #stored = new Map<string, boolean>();

  get size(): number {
    return this.#stored.size;
  }

  /** Note a change of `key`; `existed`: the table had the key just before this change. */
  note(key: string, existed: boolean): void {
    if (!this.#stored.has(key)) this.#stored.set(key, existed);
  }

  /** The changes since the last take, with each key's row now (undefined: deleted); starts over. */
  take<T>(rowOf: (key: string) => T | undefined): TableChangeList<T> {
    const upserts: [string, T][] = [];
    const deletes: string[] = [];
    for (const [key, stored] of this.#stored) {
      if (stored) deletes.push(key);
      const row = rowOf(key);
      if (row !== undefined) upserts.push([key, row]);
    }
    this.#stored = new Map();
    return { upserts, deletes };
  }
}
