// A keyed table whose checksum is maintained incrementally: the XOR of a 64-bit
// hash of every (table, key, canonical row) (row-hash.ts) — order-independent, O(1) per
// change, and recomputable from any copy of the rows (e.g. DuckDB) for comparison.
import { ChangeSet, type TableChangeList } from './change-set.js';
import { rowHash } from './row-hash.js';

/** A state checksum as the API and the stored checkpoints show it: 16 hex digits. */
export const checksumHex = (checksum: bigint): string => checksum.toString(16).padStart(16, '0');

export class HashedTable<T> {
  readonly #rows = new Map<string, T>();
  /** Keys changed since the last takeChanges(). */
  readonly #changes = new ChangeSet();
  #checksum = 0n;

  /** `onChange` sees every set/delete (not load), for derived indexes. */
  constructor(readonly name: string, private readonly onChange?: (key: string, old: T | undefined, row: T | undefined) => void) {}

  get size(): number {
    return this.#rows.size;
  }

  get checksum(): bigint {
    return this.#checksum;
  }

  get(key: string): T | undefined {
    return this.#rows.get(key);
  }

  has(key: string): boolean {
    return this.#rows.has(key);
  }

  set(key: string, row: T): void {
    this.replace(key, this.#rows.get(key), row);
  }

  /**
   * `set` for a caller that has just read the key's row (`old`, undefined: absent) and
   * changed nothing since: saves a lookup in a table of 100,000s of keys (a cache miss).
   */
  replace(key: string, old: T | undefined, row: T): void {
    if (old !== undefined) this.#checksum ^= rowHash(this.name, key, old);
    this.#rows.set(key, row);
    this.#checksum ^= rowHash(this.name, key, row);
    this.#changes.note(key, old !== undefined);
    this.onChange?.(key, old, row);
  }

  delete(key: string): boolean {
    const old = this.#rows.get(key);
    if (old === undefined) return false;
    this.#checksum ^= rowHash(this.name, key, old);
    this.#rows.delete(key);
    this.#changes.note(key, true);
    this.onChange?.(key, old, undefined);
    return true;
  }

  get changeCount(): number {
    return this.#changes.size;
  }

  /** The rows to insert and the stored keys to delete since the last call (see change-set.ts). */
  takeChanges(): TableChangeList<T> {
    return this.#changes.take((key) => this.#rows.get(key));
  }

  /**
   * Load a row read back from storage without marking it changed or hashing it: the
   * loader sets the table's checksum afterwards (`adoptChecksum`) from the value the
   * flusher stored with the rows (tests recompute it with `rowsChecksum()`).
   */
  load(key: string, row: T): void {
    this.#rows.set(key, row);
  }

  /** Take `checksum` as the hash of the loaded rows (see `load`). */
  adoptChecksum(checksum: bigint): void {
    this.#checksum = checksum;
  }

  /** The checksum recomputed from every row held (O(rows)): what `checksum` must equal. */
  rowsChecksum(): bigint {
    let total = 0n;
    for (const [key, row] of this.#rows) total ^= rowHash(this.name, key, row);
    return total;
  }

  values(): IterableIterator<T> {
    return this.#rows.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.#rows.entries();
  }
}
