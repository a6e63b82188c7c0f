// A `files` row kept compactly: its chunk list as one flat array (key, size, key,
// size, …, the keys as `chunk-key.ts` packs hashes) instead of an array of
// `{ hash, size }` objects, about half the memory per file. To everything else it is
// the plain row: `chunks` builds the list when read, and `toJSON` gives the plain row,
// fields in the same order, so JSON.stringify (the row hash, the flusher, API output)
// writes exactly the same text.
import { hashOf, keyOf } from './chunk-key.js';
import type { FileRow } from './model.js';

export interface FileChunk { readonly hash: string; readonly size: number }

/** The plain row's fields, in order (`toJSON` writes them so). */
const FIELDS = ['id', 'name', 'size', 'chunk_size', 'replication_factor', 'created_at', 'chunks'];

export class FileRecord implements FileRow {
  // Declared in the order of the plain row's fields. A spread copies these but not `chunks`
  // (a getter): spread `toJSON()` for a plain row.
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly chunk_size: number | null;
  readonly replication_factor: number;
  readonly created_at: number;
  readonly #chunks: (string | number)[];

  /** `keyFor` may give an equal key to keep instead of a new `keyOf(chunk.hash)` (to share one string per chunk). */
  constructor(row: FileRow, keyFor: (chunk: FileChunk, index: number) => string = (chunk) => keyOf(chunk.hash)) {
    this.id = row.id;
    this.name = row.name;
    this.size = row.size;
    this.chunk_size = row.chunk_size;
    this.replication_factor = row.replication_factor;
    this.created_at = row.created_at;
    this.#chunks = new Array<string | number>(row.chunks.length * 2);
    row.chunks.forEach((chunk, i) => {
      this.#chunks[2 * i] = keyFor(chunk, i);
      this.#chunks[2 * i + 1] = chunk.size;
    });
  }

  /**
   * Whether `row` is exactly what a FileRecord of it serializes to: the row's fields in
   * FIELDS order, and a chunk list of objects with the keys hash (a string) and size (a
   * number), in that order. Rows read back from storage always are; any other stays a
   * plain row.
   */
  static fits(row: FileRow): boolean {
    const keys = Object.keys(row);
    if (keys.length !== FIELDS.length || keys.some((key, i) => key !== FIELDS[i]) || !Array.isArray(row.chunks)) return false;
    for (const chunk of row.chunks) {
      let n = 0;
      for (const key in chunk) if (key !== (n++ === 0 ? 'hash' : 'size')) return false;
      if (n !== 2 || typeof chunk.hash !== 'string' || typeof chunk.size !== 'number') return false;
    }
    return true;
  }

  get chunks(): FileChunk[] {
    const chunks: FileChunk[] = new Array<FileChunk>(this.#chunks.length / 2);
    for (let i = 0; i < chunks.length; i++) chunks[i] = { hash: hashOf(this.#chunks[2 * i] as string), size: this.#chunks[2 * i + 1] as number };
    return chunks;
  }

  toJSON(): FileRow {
    return {
      id: this.id, name: this.name, size: this.size, chunk_size: this.chunk_size, replication_factor: this.replication_factor,
      created_at: this.created_at, chunks: this.chunks,
    };
  }
}
