// A keyed table whose checksum is maintained incrementally: the XOR of a 64-bit
// hash of every (table, key, canonical row) — order-independent, O(1) per change,
// and recomputable from any copy of the rows (e.g. DuckDB) for comparison.
import { createHash } from 'node:crypto';

export function rowHash(table: string, key: string, row: unknown): bigint {
  const digest = createHash('sha256').update(table).update('\0').update(key).update('\0').update(JSON.stringify(row)).digest();
  return digest.readBigUInt64BE(0);
}

export class HashedTable<T> {
  readonly #rows = new Map<string, T>();
  #checksum = 0n;

  constructor(readonly name: string) {}

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
    const old = this.#rows.get(key);
    if (old !== undefined) this.#checksum ^= rowHash(this.name, key, old);
    this.#rows.set(key, row);
    this.#checksum ^= rowHash(this.name, key, row);
  }

  delete(key: string): boolean {
    const old = this.#rows.get(key);
    if (old === undefined) return false;
    this.#checksum ^= rowHash(this.name, key, old);
    this.#rows.delete(key);
    return true;
  }

  values(): IterableIterator<T> {
    return this.#rows.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.#rows.entries();
  }
}
