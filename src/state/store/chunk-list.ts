// How a file's chunk list is stored in `files.chunks` (schema 5). When every hash is 64
// lowercase hex digits (a SHA-256, the usual case) the list is kept packed:
//   '#' + the hashes, one after another + '|' + the sizes as a JSON array
// so that a bulk load has DuckDB turn the hashes into bytes (`unhex`) with plain string
// functions, and JS gets no string or object per chunk. Any other list is kept as the
// JSON text JSON.stringify writes ('[…]'); schema 4 kept every list so, and those rows
// read as before. A packed list decodes to exactly the `{ hash, size }` objects it was
// made from, so a row's JSON, and its checksum, do not depend on the form it was kept in.
import { type FileChunk, isChunkSize } from '../file-record.js';

/** A chunk hash that storage may keep as bytes: 64 lowercase hex digits (a SHA-256). */
export const HEX_HASH = /^[0-9a-f]{64}$/;
/** Characters of hex per hash in a packed list. */
export const HASH_LENGTH = 64;

/** The stored text of a chunk list. */
export function encodeChunkList(chunks: readonly FileChunk[]): string {
  if (chunks.length === 0 || !chunks.every(isPackable)) return JSON.stringify(chunks);
  let hashes = '#';
  for (const chunk of chunks) hashes += chunk.hash;
  return `${hashes}|${JSON.stringify(chunks.map((chunk) => chunk.size))}`;
}

/** A chunk whose JSON is exactly `{"hash":…,"size":…}` with a hex hash: its packed form decodes to the same object. */
function isPackable(chunk: FileChunk): boolean {
  let keys = 0;
  for (const key in chunk) if (key !== (keys++ === 0 ? 'hash' : 'size')) return false;
  return keys === 2 && typeof chunk.hash === 'string' && HEX_HASH.test(chunk.hash) && isChunkSize(chunk.size);
}

/** The chunk list a stored text holds; throws on text that is neither form. */
export function decodeChunkList(text: string): FileChunk[] {
  if (!text.startsWith('#')) return JSON.parse(text) as FileChunk[];
  const bar = text.indexOf('|');
  const sizes: unknown = bar < 0 ? null : JSON.parse(text.slice(bar + 1));
  const hashes = text.slice(1, bar);
  if (!Array.isArray(sizes) || hashes.length !== HASH_LENGTH * sizes.length || !/^[0-9a-f]*$/.test(hashes)
    || !sizes.every(isChunkSize)) {
    throw new Error(`damaged packed chunk list: ${text.slice(0, 80)}`);
  }
  return sizes.map((size, i) => ({ hash: hashes.slice(HASH_LENGTH * i, HASH_LENGTH * (i + 1)), size: size as number }));
}

/** SQL: whether the stored list `column` is packed. */
export const packedSql = (column: string): string => `starts_with(${column}, '#')`;

/**
 * SQL: where a packed list's hashes end (the position of its `|`; 0 if it has none), or
 * null for a JSON list. A statement that cuts many lists takes it once per row: each
 * `strpos` reads the whole hex.
 */
export const packedBarSql = (column: string): string => `CASE WHEN ${packedSql(column)} THEN strpos(${column}, '|') END`;

/** SQL: a packed list's sizes, as the JSON array text (`bar`: see `packedBarSql`). */
export const packedSizesSql = (column: string, bar: string): string => `substr(${column}, ${bar} + 1)`;

/**
 * SQL: a packed list's hashes as hex, one after another (`bar`: see `packedBarSql`).
 * Whether they fit the sizes (`packedHexLengthSql` = 64 × sizes) is for the reader to check.
 */
export const packedHashesSql = (column: string, bar: string): string => `substr(${column}, 2, ${bar} - 2)`;

/** SQL: the length of a packed list's hex (`bar`: see `packedBarSql`). */
export const packedHexLengthSql = (bar: string): string => `(${bar} - 2)`;
