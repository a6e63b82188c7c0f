// What a bulk load (start-up, snapshot install) asks DuckDB for, table by table, and
// how it takes the answers into a fresh model; `DuckStore.load` runs it. Chunk hashes
// reach JS as bytes, never as strings (see README, "DuckDB").
import type { ChunkTable } from '../chunk-table.js';
import { FILE_FIELDS, isChunkSize, type PackedFileRow } from '../file-record.js';
import { HASH_BYTES, type FileRow, type Model } from '../model.js';
import type { SlicedBlockVisit } from './block-reader.js';
import { HASH_LENGTH, packedBarSql, packedHashesSql, packedHexLengthSql, packedSizesSql } from './chunk-list.js';
import { TABLES, type TableSpec, fromRowObject, rowObjectSql, rowValuesSql, validJsonSql } from './tables.js';

/** Rows (or chunks) a load takes in between two chances to yield to the event loop. */
const SLICE_ROWS = 256;

/** Ends a chunk's holders in a replica block: no node number makes it (numbers are below 2^31). */
const END_OF_HOLDERS = 0xffff_ffff;
const END_OF_HOLDERS_HEX = 'ffffffff';

/** Lower-case hex of a non-negative integer, `digits` wide (`lower(to_hex(…))` cost a quarter more per block). */
const hex = (value: string, digits: number): string => `printf('%0${digits}x', ${value})`;

/** The nodes holding replicas, numbered, with their two holder codes (pending, stored) in hex: made once per node, not per replica. */
export const LOAD_NODES_SQL = `CREATE OR REPLACE TEMP TABLE load_nodes AS
  SELECT node_id, n, ${hex('n * 2', 8)} AS pending, ${hex('n * 2 + 1', 8)} AS stored
  FROM (SELECT node_id, (row_number() OVER (ORDER BY node_id) - 1)::INTEGER AS n FROM (SELECT DISTINCT node_id FROM replicas))`;

/**
 * A block of replicas grouped by chunk (`where(alias)` restricts the table). Its BLOB,
 * which DuckDB builds from hex (`unhex`) and JS reads in place, holds every chunk whose
 * hash is flagged hex (`hex_hash`): the hash's 32 bytes, then, big-endian, the size
 * (8 bytes) and each holder as the chunk table codes it (4 each: node number × 2 +
 * state, 1 = stored; numbers from `load_nodes`), ended by END_OF_HOLDERS (no count to
 * format per chunk). No string or JSON per chunk crosses into JS, and no hash is parsed
 * there (~0.2 µs each, and young garbage). Any other chunk (a hash in another form, a
 * size out of range) comes in the JSON text: hash, size and the holders' codes in the
 * same hex.
 *
 * The flag and the size are part of the grouping key (taking min() of the flag per chunk
 * cost a sixth of the statement): a chunk whose rows disagree, which only a damaged
 * database holds, comes once per flag and size. JS adds each part's holders to the one
 * chunk, and refuses a second size (`ChunkTable` checks every size against the first).
 */
export function replicaBlockSelect(where: (alias?: string) => string): string {
  return `SELECT text, ${lowerHexToBlobSql('hex', 'bad', 'a chunk hash in replicas flagged hex is not lowercase hex')} FROM (SELECT
      '[' || string_agg(CASE WHEN packed THEN NULL ELSE to_json(chunk_hash)::VARCHAR || ',' || size || ',"' || hex_codes || '"' END, ',') || ']' AS text,
      string_agg(CASE WHEN packed THEN chunk_hash || ${hex('size', 16)} || hex_codes || '${END_OF_HOLDERS_HEX}' END, '') AS hex,
      bool_or(packed AND chunk_hash <> lower(chunk_hash)) AS bad
    FROM (SELECT *, hex AND size BETWEEN 0 AND ${Number.MAX_SAFE_INTEGER} AS packed
      FROM (SELECT r.chunk_hash, r.hex_hash = 1 AND strlen(r.chunk_hash) = 64 AS hex, r.size,
          string_agg(CASE r.state WHEN 'stored' THEN l.stored WHEN 'pending' THEN l.pending
            ELSE error('damaged replicas: a state that is neither stored nor pending') END, '') AS hex_codes
        FROM replicas r JOIN load_nodes l USING (node_id) WHERE ${where('r')} GROUP BY r.chunk_hash, hex, r.size)))`;
}

/**
 * SQL: the BLOB of a block's hex text (`unhex`), or an error (which fails the statement)
 * if `bad`: if the hex holds an upper-case digit (`unhex` takes those too, and a hash
 * would then load as a different, lower-case one). Checked once per block on the
 * values that can hold one (the hashes; what the statement formats is lower case):
 * ~5 ms of a replica block's ~40.
 */
function lowerHexToBlobSql(hexText: string, bad: string, message: string): string {
  return `CASE WHEN ${bad} THEN error('${message}') ELSE unhex(${hexText}) END`;
}

/**
 * What takes a block of `replicaBlockSelect` (see there) into the chunk table; after the
 * last, `table.finishLoad()`.
 */
export function replicaVisit(table: ChunkTable): SlicedBlockVisit {
  const codes: number[] = [];
  return function* visit(values, bytes) {
    for (let i = 0; i < values.length; i += 3) {
      const hexCodes = values[i + 2] as string;
      codes.length = hexCodes.length / 8;
      for (let h = 0; h < codes.length; h++) codes[h] = Number.parseInt(hexCodes.slice(8 * h, 8 * h + 8), 16);
      table.loadHolders(values[i] as string, values[i + 1] as number, codes, 0, codes.length);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let chunks = 0;
    for (let at = 0; at < bytes.length;) {
      if (at + HASH_BYTES + 8 > bytes.length) throw new Error('a block of replicas ends inside a chunk');
      const size = view.getUint32(at + HASH_BYTES) * 2 ** 32 + view.getUint32(at + HASH_BYTES + 4);
      let end = at + HASH_BYTES + 8;
      codes.length = 0;
      for (;; end += 4) {
        if (end + 4 > bytes.length) throw new Error('a block of replicas ends inside a chunk\'s holders');
        const code = view.getUint32(end);
        if (code === END_OF_HOLDERS) break;
        codes.push(code);
      }
      table.loadHoldersOfBytes(bytes, at, size, codes, 0, codes.length);
      at = end + 4;
      if (++chunks % SLICE_ROWS === 0) yield;
    }
  };
}

/** A block-read statement for every row of a table: key, then the row object (see `rowObjectSql`). */
export function rowsSelect(spec: TableSpec): (where: (alias?: string) => string) => string {
  return (where) => `SELECT '[' || string_agg(to_json(k)::VARCHAR || ',' || ${rowObjectSql(spec)}, ',') || ']' FROM ${spec.name} WHERE ${where()}`;
}

/** Visit each row of `rowsSelect`'s blocks with its key, packed chunk lists decoded. */
export function rowsVisit(spec: TableSpec, visit: (key: string, row: unknown) => void): (values: unknown[]) => void {
  return (values) => {
    for (let i = 0; i < values.length; i += 2) visit(values[i] as string, fromRowObject(spec, values[i + 1]));
  };
}

const FILES = TABLES.find((spec) => spec.name === 'files')!;
// `loadFiles` builds rows from the files columns in FILE_FIELDS order.
if (FILES.columns.map((c) => c.name).join() !== FILE_FIELDS.join()) throw new Error('files columns and FILE_FIELDS differ');

/** Bytes before a packed row's hashes in a files block: its rowid (8, big-endian) and the length of its hex (4). */
const FILE_TAG_BYTES = 12;

/**
 * The block-read statement for `files` in a load: per row the key, the fields as a flat
 * run of JSON values (`rowValuesSql`) and, for a packed chunk list (see `chunk-list.ts`),
 * the rowid (null for a JSON list). A packed list comes as its sizes, its hashes going
 * into the block's BLOB, 32 bytes each, after a tag of the row's rowid and hex length
 * (FILE_TAG_BYTES): as for replicas, no string or object per chunk crosses into JS, and
 * DuckDB does no JSON work for it, only string functions.
 *
 * The text and the BLOB are two aggregates of one scan with no ORDER BY (sorting each
 * cost a fifth of the statement): DuckDB feeds both the same rows in the same order,
 * but promises nothing, so JS checks each packed row's rowid against its tag.
 */
export function filesSelect(): (where: (alias?: string) => string) => string {
  // An id equal to the key (every row the model wrote) comes as null: JS takes the key's string.
  // A packed list's sizes go into the row text as they are, so they must be one JSON array and nothing more
  // (which also makes bar at least 2: a list with no '|' fails here).
  const checkedSizes = `CASE WHEN starts_with(sizes, '[') AND strpos(sizes, ']') = strlen(sizes) THEN sizes
    ELSE error('damaged packed chunk list in files: its sizes are not one JSON array') END`;
  const values = rowValuesSql(FILES, { id: `CASE WHEN "id" = k THEN NULL ELSE to_json("id")::VARCHAR END`,
    chunks: `CASE WHEN bar IS NOT NULL THEN ${checkedSizes} ELSE ${validJsonSql('files', 'chunks')} END` }); // JS checks it is an array
  const hexLength = packedHexLengthSql('bar');
  // `bar` (null for a JSON list) and `sizes` are cut once per row: each strpos reads the whole hex.
  return (where) => `SELECT text, ${lowerHexToBlobSql('hex', `hex <> lower(hex) OR partial`, 'damaged packed chunk list in files: hashes not lowercase hex, 64 digits each')} FROM (SELECT
      '[' || string_agg(to_json(k)::VARCHAR || ',' || ${values} || ',' || CASE WHEN bar IS NULL THEN 'null' ELSE CAST(rowid AS VARCHAR) END, ',') || ']' AS text,
      string_agg(printf('%016x%08x', rowid, ${hexLength}) || ${packedHashesSql('chunks', 'bar')}, '') AS hex,
      bool_or(${hexLength} % ${HASH_LENGTH} <> 0) AS partial
    FROM (SELECT *, ${packedSizesSql('chunks', 'bar')} AS sizes FROM (SELECT *, rowid, ${packedBarSql('chunks')} AS bar FROM files WHERE ${where()})))`;
}

/**
 * Take a block of `filesSelect` into the model, yielding every SLICE_ROWS rows (see
 * `visitBlocksAsReady`): each row is the key, FILE_FIELDS' values and, for a packed row,
 * its rowid: its chunks are sizes, its tag and hashes next in `bytes`.
 */
export function* loadFiles(model: Model, values: unknown[], bytes: Uint8Array): Generator<void> {
  const stride = 2 + FILE_FIELDS.length;
  if (values.length % stride !== 0) throw new Error(`a block of files holds ${values.length} values, not rows of ${stride}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (let i = 0; i < values.length; i += stride) {
    const chunks = values[i + 7] as FileRow['chunks'] | number[];
    if (!Array.isArray(chunks)) throw new Error(`file ${String(values[i])} has no chunk list`);
    // Fields in column order, as JSON.parse of the row object would have made them.
    const row = { id: (values[i + 1] ?? values[i]) as string, name: values[i + 2] as string, size: values[i + 3] as number, chunk_size: values[i + 4] as number | null,
      replication_factor: values[i + 5] as number, created_at: values[i + 6] as number, chunks };
    if (values[i + 8] !== null) {
      const packed = row as PackedFileRow;
      if (offset + FILE_TAG_BYTES > bytes.length) throw new Error('a block of files holds fewer hash bytes than its packed rows have chunks');
      if (view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4) !== values[i + 8]) {
        throw new Error(`a block of files: the hashes after row ${String(values[i + 8])} are not its own (rows and hashes out of step)`);
      }
      if (!packed.chunks.every(isChunkSize)) throw new Error(`damaged packed chunk list in files: the sizes of ${row.id}`);
      if (view.getUint32(offset + 8) !== HASH_LENGTH * packed.chunks.length) throw new Error(`damaged packed chunk list in files: the hashes of ${row.id} do not fit its sizes`);
      offset += FILE_TAG_BYTES;
      if (offset + HASH_BYTES * packed.chunks.length > bytes.length) throw new Error('a block of files holds fewer hash bytes than its packed rows have chunks');
      model.loadPackedFile(values[i] as string, packed, bytes, offset);
      offset += HASH_BYTES * packed.chunks.length;
    } else {
      if (!chunks.every((chunk) => typeof chunk === 'object' && chunk !== null)) throw new Error(`damaged chunk list in files: ${row.id}`);
      model.loadFile(values[i] as string, row as unknown as FileRow);
    }
    if ((i / stride) % SLICE_ROWS === SLICE_ROWS - 1) yield;
  }
  if (offset !== bytes.length) throw new Error(`a block of files holds ${bytes.length} hash bytes, its packed rows took ${offset}`);
}
