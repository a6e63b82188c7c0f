// A `files` row kept compactly: its chunk list as the chunks' slot numbers in the
// chunk table (which holds each chunk's hash and size, and keeps the slot while the
// file holds the chunk) instead of an array of `{ hash, size }` objects: no string or
// object per chunk. To everything else it is the plain row: `chunks` builds the list
// when read, and `toJSON` gives the plain row, fields in the same order, so
// JSON.stringify (the row hash, the flusher, API output) writes exactly the same text.
// Its slots are valid only while the record is the model's row for the file: once the
// file is deleted they may be freed and reused, so whatever keeps a record past that
// (the flusher) serializes it first.
import type { FileRow } from './model.js';

export interface FileChunk { readonly hash: string; readonly size: number }

/** A files row as a bulk load reads it when every chunk hash is 64 lowercase hex digits: the chunks' sizes, the hashes apart. */
export type PackedFileRow = Omit<FileRow, 'chunks'> & { readonly chunks: readonly number[] };

/** Where a record's slot numbers lead: the chunk table. */
export interface ChunkSlots {
  hashAt(slot: number): string;
  sizeAt(slot: number): number;
}

/** The plain row's fields, in order (`toJSON` writes them so; the files table's columns are these). */
export const FILE_FIELDS = ['id', 'name', 'size', 'chunk_size', 'replication_factor', 'created_at', 'chunks'] as const;

/** Whether `value` can be a chunk's size: a safe non-negative integer. */
export const isChunkSize = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

export class FileRecord implements FileRow {
  // Declared in the order of the plain row's fields. A spread copies these but not `chunks`
  // (a getter): spread `toJSON()` for a plain row.
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly chunk_size: number | null;
  readonly replication_factor: number;
  readonly created_at: number;
  readonly #slots: readonly number[];
  readonly #table: ChunkSlots;

  /** `slots[i]`: the slot of `row.chunks[i]` in `table`, which holds that chunk with that size. */
  private constructor(row: FileRow, slots: readonly number[], table: ChunkSlots) {
    this.id = row.id;
    this.name = row.name;
    this.size = row.size;
    this.chunk_size = row.chunk_size;
    this.replication_factor = row.replication_factor;
    this.created_at = row.created_at;
    this.#slots = slots;
    this.#table = table;
  }

  /**
   * The row to keep: a FileRecord when the row `fits` and each chunk has a slot
   * (`slots[i]` ≥ 0: the chunk table registered it with the row's size), else the row itself.
   */
  static of(row: FileRow, slots: readonly number[], table: ChunkSlots): FileRow {
    return FileRecord.fits(row) && slots.length === row.chunks.length && slots.every((slot) => slot >= 0)
      ? new FileRecord(row, slots, table) : row;
  }

  /**
   * For a bulk load: a FileRecord of `row`, whose `chunks` holds the chunks' sizes (their
   * hashes went to the chunk table, which gave a slot for each: `slots`, one per chunk),
   * or null when the row's fields are not in FILE_FIELDS order (the caller keeps a plain row
   * then).
   */
  static ofLoaded(row: PackedFileRow, slots: readonly number[], table: ChunkSlots): FileRecord | null {
    let n = 0;
    for (const key in row) if (key !== FILE_FIELDS[n++]) return null; // no array of keys: a load checks 100,000s of rows
    if (n !== FILE_FIELDS.length) return null;
    return new FileRecord(row as unknown as FileRow, slots, table); // reads no `chunks`
  }

  /**
   * Whether `row` is exactly what a FileRecord of it serializes to: the row's fields in
   * FILE_FIELDS order, and a chunk list of objects with the keys hash (a string) and size (a
   * number), in that order. Rows read back from storage always are; any other stays a
   * plain row.
   */
  static fits(row: FileRow): boolean {
    const keys = Object.keys(row);
    if (keys.length !== FILE_FIELDS.length || keys.some((key, i) => key !== FILE_FIELDS[i]) || !Array.isArray(row.chunks)) return false;
    for (const chunk of row.chunks) {
      let n = 0;
      for (const key in chunk) if (key !== (n++ === 0 ? 'hash' : 'size')) return false;
      if (n !== 2 || typeof chunk.hash !== 'string' || typeof chunk.size !== 'number') return false;
    }
    return true;
  }

  get chunks(): FileChunk[] {
    const chunks: FileChunk[] = new Array<FileChunk>(this.#slots.length);
    for (let i = 0; i < chunks.length; i++) chunks[i] = { hash: this.#table.hashAt(this.#slots[i]), size: this.#table.sizeAt(this.#slots[i]) };
    return chunks;
  }

  toJSON(): FileRow {
    return {
      id: this.id, name: this.name, size: this.size, chunk_size: this.chunk_size, replication_factor: this.replication_factor,
      created_at: this.created_at, chunks: this.chunks,
    };
  }
}
