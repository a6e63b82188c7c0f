// The DuckDB copy of the model. Deltas are written set-wise (DESIGN §3: row-at-a-time
// DuckDB is slow): per table a DELETE of the changed keys and an INSERT of the new rows,
// each row batch bound as one JSON text that DuckDB unpacks, in a single transaction that
// also records applied_index and the tables' checksums.
import { DuckDBBlobValue, DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { checksumHex, rowHash } from '../hashed-table.js';
import type { FileChunk, PackedFileRow } from '../file-record.js';
import { HASH_BYTES, type FileRow, type Model } from '../model.js';
import { HEX_HASH, encodeChunkList, packedHashesSql, packedSizesSql, packedSql } from './chunk-list.js';
import type { ChunkTable } from '../chunk-table.js';
import { TABLES, type TableSpec, createTableSql, fromRowObject, rowObjectSql, rowValuesSql } from './tables.js';

// Version 2 dropped the primary keys on `k`: DuckDB keeps such an index in memory
// (about 100 MB for a million replica keys) and the model already guarantees uniqueness.
// Version 3 added `nodes.stats`. Version 4 stores each table's state checksum in
// raft_meta (`checksum_<table>`), written with the rows and applied_index in one
// transaction, so a load takes it instead of hashing every row again. Version 5 may keep
// `files.chunks` packed (see chunk-list.ts; version 4's JSON lists read as before) and
// flags replicas whose chunk hash a load can take as bytes (`hex_hash`).
export const SCHEMA_VERSION = 5;

/** A table's changes since the last flush and its checksum after them (the model's, at the flushed index). */
export interface TableChanges { readonly spec: TableSpec; readonly upserts: [string, unknown][]; readonly deletes: string[]; readonly checksum: bigint }

/**
 * Bulk reads: DuckDB returns a block of rows as one JSON text, so one string crosses
 * into JS per block instead of one per long value (a native call each), and JSON.parse
 * builds the rows. The first block spans BLOCK_ROWS_FIRST row ids; later ones are sized
 * for about BLOCK_BYTES of text.
 */
const BLOCK_ROWS_FIRST = 4_096;
const BLOCK_ROWS_MAX = 262_144;
const BLOCK_BYTES = 4 * 2 ** 20;
/** Blocks of `files` DuckDB reads ahead of JS during a load (each about BLOCK_BYTES of text). */
const READ_AHEAD_BLOCKS = 4;

const checksumKey = (spec: TableSpec): string => `checksum_${spec.name}`;
/** raft_meta key of the number of chunks the chunk table knows at the flushed index. */
const KNOWN_CHUNKS_KEY = 'known_chunks';
/** raft_meta values are BIGINT: a 64-bit checksum is kept as its two's-complement signed value. */
const toStored = (checksum: bigint): bigint => BigInt.asIntN(64, checksum);
const fromStored = (value: bigint): bigint => BigInt.asUintN(64, value);

export class DuckStore {
  private constructor(readonly path: string, private readonly memoryLimitMb: number, private readonly instance: DuckDBInstance,
    private connection: DuckDBConnection) {}

  static async open(path: string, memoryLimitMb: number): Promise<DuckStore> {
    // allocator_background_threads: DuckDB's allocator (jemalloc) otherwise hands freed pages back to the
    // system only while it keeps allocating, so a node idle after a load (start-up, snapshot install)
    // kept ~30 MB of them; its background thread returns them within about a second.
    const instance = await DuckDBInstance.create(path, { memory_limit: `${memoryLimitMb}MB`, threads: '2', preserve_insertion_order: 'false',
      allocator_background_threads: 'true' });
    const connection = await instance.connect();
    const store = new DuckStore(path, memoryLimitMb, instance, connection);
    await store.#ensureSchema();
    return store;
  }

  async #ensureSchema(): Promise<void> {
    const c = this.connection;
    await c.run('CREATE TABLE IF NOT EXISTS raft_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)');
    const version = await this.#meta('schema_version');
    if (version !== null && version > SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is newer than this program (${SCHEMA_VERSION})`);
    }
    // Migrations from older versions, one step per version.
    if (version === 1) {
      await c.run('BEGIN TRANSACTION');
      for (const spec of TABLES) {
        await c.run(`CREATE TABLE ${spec.name}_v2 AS SELECT * FROM ${spec.name}`);
        await c.run(`DROP TABLE ${spec.name}`);
        await c.run(`ALTER TABLE ${spec.name}_v2 RENAME TO ${spec.name}`);
      }
      await c.run(`UPDATE raft_meta SET value = 2 WHERE key = 'schema_version'`);
      await c.run('COMMIT');
    }
    if (version !== null && version <= 2) {
      // v3: nodes keep the stats of their newest heartbeat (JSON; SQL NULL before the first,
      // which loads as an absent field: the state checksum of old rows does not change).
      await c.run('BEGIN TRANSACTION');
      await c.run('ALTER TABLE nodes ADD COLUMN stats VARCHAR');
      await c.run(`UPDATE raft_meta SET value = 3 WHERE key = 'schema_version'`);
      await c.run('COMMIT');
    }
    if (version !== null && version <= 3) {
      // v4: the stored per-table checksums, computed once from the rows here.
      const checksums = await this.#checksumsFromRows();
      await c.run('BEGIN TRANSACTION');
      for (const [i, spec] of TABLES.entries()) await this.#setChecksum(spec, checksums[i]);
      await c.run(`UPDATE raft_meta SET value = 4 WHERE key = 'schema_version'`);
      await c.run('COMMIT');
    }
    if (version !== null && version <= 4) {
      // v5: replicas carry hex_hash (see TABLES); files may keep chunk lists packed (old JSON lists read as before).
      await c.run('BEGIN TRANSACTION');
      await c.run('ALTER TABLE replicas ADD COLUMN hex_hash BIGINT DEFAULT 0');
      await c.run(`UPDATE replicas SET hex_hash = 1 WHERE regexp_full_match(chunk_hash, '${HEX_HASH.source.slice(1, -1)}')`);
      await c.run(`UPDATE raft_meta SET value = 5 WHERE key = 'schema_version'`);
      await c.run('COMMIT');
    }
    for (const spec of TABLES) await c.run(createTableSql(spec));
    if (version === null) {
      // A new database: empty tables, whose checksum is 0.
      await c.run('BEGIN TRANSACTION');
      for (const spec of TABLES) await this.#setChecksum(spec, 0n);
      await c.run(`INSERT INTO raft_meta VALUES ('schema_version', ${SCHEMA_VERSION})`);
      await c.run('COMMIT');
    }
  }

  async #meta(key: string): Promise<number | null> {
    const value = await this.#metaBigInt(key);
    return value === null ? null : Number(value);
  }

  async #metaBigInt(key: string): Promise<bigint | null> {
    const reader = await this.connection.runAndReadAll(`SELECT value FROM raft_meta WHERE key = '${key}'`);
    const rows = reader.getRows();
    return rows.length === 0 ? null : (rows[0][0] as bigint);
  }

  async #setChecksum(spec: TableSpec, checksum: bigint): Promise<void> {
    await this.connection.run(`INSERT INTO raft_meta VALUES ('${checksumKey(spec)}', ${toStored(checksum)}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  }

  /** Each table's checksum as the flusher stored it (the model's at applied_index), in TABLES order. */
  async #storedChecksums(): Promise<bigint[]> {
    const checksums: bigint[] = [];
    for (const spec of TABLES) {
      const value = await this.#metaBigInt(checksumKey(spec));
      if (value === null) throw new Error(`database has no stored checksum for table ${spec.name}`);
      checksums.push(fromStored(value));
    }
    return checksums;
  }

  /** The state checksum the flusher stored (what `checksum()` recomputes from the rows, if the database is intact). */
  async storedChecksum(): Promise<string> {
    return checksumHex((await this.#storedChecksums()).reduce((a, b) => a ^ b, 0n));
  }

  async appliedIndex(): Promise<number> {
    return (await this.#meta('applied_index')) ?? 0;
  }

  /**
   * Write the changes and applied_index atomically. Rows travel as JSON text bound to one
   * parameter per statement and DuckDB unpacks them (`from_json`) off the JS thread: the
   * appender took one native call per value on the main thread, about 20 µs per row.
   * Every row is turned into text before the first await: apply goes on meanwhile, and a
   * row may read the model when serialized (a `FileRecord` lists its chunks from the chunk
   * table, whose slots a later delete may free and reuse).
   */
  async write(changes: readonly TableChanges[], appliedIndex: number, knownChunks: number): Promise<number> {
    const statements: { readonly sql: string; readonly values: Record<string, string> }[] = [];
    let rows = 0;
    for (const { spec, upserts, deletes } of changes) {
      // Deleted rows and the old versions of upserted ones. Without a key index each DELETE
      // scans the table: one per 5,000 keys, so a flush past that (a bulk build) scans it again per batch.
      const keys = [...deletes, ...upserts.map(([k]) => k)];
      for (let i = 0; i < keys.length; i += ROWS_PER_STATEMENT) {
        statements.push({ sql: `DELETE FROM ${spec.name} WHERE k IN (SELECT unnest(from_json($keys, '["VARCHAR"]')))`,
          values: { keys: JSON.stringify(keys.slice(i, i + ROWS_PER_STATEMENT)) } });
      }
      for (let i = 0; i < upserts.length; i += ROWS_PER_STATEMENT) {
        const batch = upserts.slice(i, i + ROWS_PER_STATEMENT).map(([k, row]) => rowJson(spec, k, row));
        statements.push({ sql: insertFromJsonSql(spec), values: { rows: JSON.stringify(batch) } });
      }
      rows += upserts.length + deletes.length;
    }
    // applied_index, the checksums of the tables it describes and the chunk count (for a load to size the chunk table), in one statement.
    const meta = [`('applied_index', ${Math.floor(appliedIndex)})`, `('${KNOWN_CHUNKS_KEY}', ${Math.floor(knownChunks)})`,
      ...changes.map(({ spec, checksum }) => `('${checksumKey(spec)}', ${toStored(checksum)})`)];
    statements.push({ sql: `INSERT INTO raft_meta VALUES ${meta.join(', ')} ON CONFLICT (key) DO UPDATE SET value = excluded.value`, values: {} });
    const c = this.connection;
    await c.run('BEGIN TRANSACTION');
    try {
      for (const { sql, values } of statements) await c.run(sql, values);
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return rows;
  }

  /**
   * Bulk-load every table into a fresh model. The rows are not hashed: each table takes
   * the checksum stored with them (the rows and the checksums were committed together).
   * `checksum()` recomputes it from the rows, for `/api/health/db` and backup verification.
   */
  async load(model: Model): Promise<void> {
    const checksums = await this.#storedChecksums();
    // Three connections, so that DuckDB works ahead of JS: replicas (this one), files and
    // the small tables. Read one after the other, JS waited on DuckDB a third of the load.
    const ahead = await this.instance.connect();
    const side = await this.instance.connect().catch((error: unknown) => {
      ahead.disconnectSync();
      throw error;
    });
    const files = new BlockReader(ahead, 'files', textBlocks(filesSelect()), READ_AHEAD_BLOCKS);
    const replicas = this.#replicaReader(model.replicas);
    replicas.catch(() => undefined); // awaited below; a failure before then must not go unhandled
    try {
      for (const [i, spec] of TABLES.entries()) {
        const { loadRow } = spec;
        if (spec.name === 'replicas') await visitReplicas(await replicas, model.replicas);
        else if (spec.name === 'files') await visitBlocks(files, (values, bytes) => loadFiles(model, values, bytes));
        else if (loadRow !== undefined) await this.#blocks(spec.name, rowsSelect(spec), rowsVisit(spec, (key, row) => loadRow(model, key, row)), side);
        else throw new Error(`no way to load table ${spec.name}`);
        spec.table(model).adoptChecksum(checksums[i]);
      }
    } finally {
      try {
        await files.close();
        await replicas.then((reader) => reader.close(), () => undefined);
        // A failure here must not hide the load's own; the next load replaces the table anyway.
        await this.connection.run('DROP TABLE IF EXISTS load_nodes').catch(() => undefined);
      } finally {
        ahead.disconnectSync();
        side.disconnectSync();
      }
    }
  }

  /**
   * A reader of the replicas grouped by chunk. Each block is one BLOB that DuckDB builds
   * from hex (`unhex`) and JS reads in place, for every chunk whose hash is flagged hex
   * (`hex_hash`): the hash's 32 bytes, then, big-endian, the size (8 bytes), the holder
   * count (4) and each holder as the chunk table codes it (4 each: node number × 2 +
   * state, 1 = stored; the node numbers from a temporary table). No string or JSON per
   * chunk crosses into JS, and no hash is parsed there (~0.2 µs each, and young garbage).
   * Any other chunk (a hash in another form, a size out of range) comes beside it in a
   * JSON array of hash, size and the holders' codes in the same hex.
   */
  async #replicaReader(table: ChunkTable): Promise<BlockReader<TextBlock>> {
    const c = this.connection;
    // Lower-case hex of a non-negative integer, `digits` wide (`lower(to_hex(…))` cost a quarter more per block).
    const hex = (value: string, digits: number) => `printf('%0${digits}x', ${value})`;
    // Each node's two holder codes (pending, stored) in hex, made once here instead of once per replica.
    await c.run(`CREATE OR REPLACE TEMP TABLE load_nodes AS
      SELECT node_id, n, ${hex('n * 2', 8)} AS pending, ${hex('n * 2 + 1', 8)} AS stored
      FROM (SELECT node_id, (row_number() OVER (ORDER BY node_id) - 1)::INTEGER AS n FROM (SELECT DISTINCT node_id FROM replicas))`);
    const ids = (await c.runAndReadAll('SELECT node_id FROM load_nodes ORDER BY n')).getRows().map((r) => String(r[0]));
    table.loadNodeIds(ids);
    // Sized once for the chunks the rows were written with (absent before a flush recorded it), but for no more
    // than the replica rows (each chunk that comes from them has one): a damaged hint cannot make it allocate more.
    const [[replicas]] = (await c.runAndReadAll('SELECT count(*) FROM replicas')).getRows();
    table.reserve(Math.min((await this.#meta(KNOWN_CHUNKS_KEY)) ?? 0, Number(replicas)));
    return new BlockReader(c, 'replicas', textBlocks((where) => `SELECT text, ${lowerHexToBlobSql('hex', 'a chunk hash in replicas flagged hex is not lowercase hex')} FROM (SELECT
        '[' || string_agg(CASE WHEN packed THEN NULL ELSE to_json(chunk_hash)::VARCHAR || ',' || size || ',"' || hex_codes || '"' END, ',') || ']' AS text,
        string_agg(CASE WHEN packed THEN chunk_hash || ${hex('size', 16)} || ${hex('holders', 8)} || hex_codes END, '') AS hex
      FROM (SELECT *, hex AND size BETWEEN 0 AND ${Number.MAX_SAFE_INTEGER} AS packed
        FROM (SELECT r.chunk_hash, bool_and(r.hex_hash = 1) AS hex, min(r.size) AS size, count(*) AS holders,
            string_agg(CASE WHEN r.state = 'stored' THEN l.stored ELSE l.pending END, '') AS hex_codes
          FROM replicas r JOIN load_nodes l USING (node_id) WHERE ${where('r')} GROUP BY r.chunk_hash)))`), READ_AHEAD_BLOCKS);
  }

  /**
   * Give back the memory DuckDB kept after the bulk reads: lowering `memory_limit` evicts
   * the buffer pool down to the new limit and returns freed memory to the system (at
   * 1M replicas about 150 MB of RSS that DuckDB otherwise keeps); then the limit is
   * restored. Blocks read later come back from the file as queries need them. Memory
   * that cannot be evicted (rows not yet checkpointed, temporary tables) stays: then the
   * limit goes only down to what is in use, which still returns the freed memory.
   */
  async releaseMemory(): Promise<void> {
    const lower = async (limit: string): Promise<boolean> => {
      try {
        await this.connection.run(`SET memory_limit = '${limit}'`);
        return true;
      } catch (error) {
        if (!String(error).includes('Out of Memory')) throw error;
        return false;
      }
    };
    try {
      if (!(await lower('1MB'))) {
        const [[used]] = (await this.connection.runAndReadAll('SELECT sum(memory_usage_bytes) FROM duckdb_memory()')).getRows();
        await lower(`${Math.ceil(Number(used) / 1e6) + 1}MB`);
      }
    } finally {
      await this.connection.run(`SET memory_limit = '${this.memoryLimitMb}MB'`);
    }
  }

  /** The model checksum recomputed from the database's rows. */
  async checksum(): Promise<string> {
    return checksumHex((await this.#checksumsFromRows()).reduce((a, b) => a ^ b, 0n));
  }

  async #checksumsFromRows(): Promise<bigint[]> {
    const checksums: bigint[] = [];
    for (const spec of TABLES) {
      let total = 0n;
      await this.#rows(spec, (key, row) => { total ^= rowHash(spec.name, key, row); });
      checksums.push(total);
    }
    return checksums;
  }

  /** Every row of a table, as the model holds it. */
  async #rows(spec: TableSpec, visit: (key: string, row: unknown) => void): Promise<void> {
    await this.#blocks(spec.name, rowsSelect(spec), rowsVisit(spec, visit));
  }

  /**
   * Read a table in blocks of row ids, one at a time ahead of JS: `select(where)` is one
   * statement whose value is the block as the text of a JSON array. See `textBlocks`.
   */
  async #blocks(table: string, select: (where: (alias?: string) => string) => string, visit: (values: unknown[]) => void,
    connection = this.connection): Promise<void> {
    const reader = new BlockReader(connection, table, textBlocks(select), 1);
    try {
      await visitBlocks(reader, visit);
    } finally {
      await reader.close();
    }
  }

  async checkpoint(): Promise<void> {
    await this.connection.run('CHECKPOINT');
  }

  async query(sql: string, values?: Record<string, string>): Promise<Record<string, unknown>[]> {
    const reader = await this.connection.runAndReadAll(sql, values);
    return reader.getRowObjects() as Record<string, unknown>[];
  }

  close(): void {
    this.connection.disconnectSync();
    this.instance.closeSync();
  }
}

/** Rows per statement: bounds the JSON text DuckDB holds at once (db_memory_limit may be small). */
const ROWS_PER_STATEMENT = 5_000;

/**
 * One row for `insertFromJsonSql`: the key as `k`, column i as `c<i>`. JSON columns
 * carry their text as a string (stored exactly as JSON.stringify wrote it, so the row
 * reads back with the same checksum); only undefined is SQL NULL there, null is "null".
 * A chunk list carries its stored text (`encodeChunkList`).
 */
function rowJson(spec: TableSpec, key: string, row: unknown): Record<string, unknown> {
  const values = row as Record<string, unknown>;
  const out: Record<string, unknown> = { k: key };
  spec.columns.forEach((column, i) => {
    const value = values[column.name];
    if (column.kind === 'json') out[`c${i}`] = value === undefined ? null : JSON.stringify(value);
    else if (column.kind === 'chunks') out[`c${i}`] = value === undefined ? null : encodeChunkList(value as FileChunk[]);
    else if (value === null || value === undefined) out[`c${i}`] = null;
    else out[`c${i}`] = column.kind === 'int' ? value : String(value);
  });
  (spec.derived ?? []).forEach((column, j) => { out[`c${spec.columns.length + j}`] = column.value(row); });
  return out;
}

const insertSql = new Map<string, string>();

/** INSERT of the rows in `$rows` (a JSON array of `rowJson` objects) into the table. */
function insertFromJsonSql(spec: TableSpec): string {
  let sql = insertSql.get(spec.name);
  if (sql === undefined) {
    const types = [...spec.columns.map((c) => (c.kind === 'int' ? 'BIGINT' : 'VARCHAR')), ...(spec.derived ?? []).map(() => 'BIGINT')];
    const structure = JSON.stringify([Object.fromEntries([['k', 'VARCHAR'], ...types.map((type, i) => [`c${i}`, type])])]);
    const columns = ['r.k', ...types.map((_, i) => `r.c${i}`)].join(', ');
    sql = `INSERT INTO ${spec.name} SELECT ${columns} FROM (SELECT unnest(from_json($rows, '${structure}')) AS r)`;
    insertSql.set(spec.name, sql);
  }
  return sql;
}

/**
 * SQL: the BLOB of a block's hex text (`unhex`), or an error (which fails the statement)
 * if it holds an upper-case digit: `unhex` takes those too, and a hash would then load
 * as a different (lower-case) one. Checked once per block, not per row (~2 ms a block).
 */
function lowerHexToBlobSql(hexText: string, message: string): string {
  return `CASE WHEN ${hexText} IS NULL OR ${hexText} = lower(${hexText}) THEN unhex(${hexText}) ELSE error('${message}') END`;
}

/** Take in the blocks of `#replicaReader` (see there). */
async function visitReplicas(reader: BlockReader<TextBlock>, table: ChunkTable): Promise<void> {
  const codes: number[] = [];
  await visitBlocks(reader, (values, bytes) => {
    for (let i = 0; i < values.length; i += 3) {
      const hexCodes = values[i + 2] as string;
      codes.length = hexCodes.length / 8;
      for (let h = 0; h < codes.length; h++) codes[h] = Number.parseInt(hexCodes.slice(8 * h, 8 * h + 8), 16);
      table.loadHolders(values[i] as string, values[i + 1] as number, codes, 0, codes.length);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length;) {
      if (at + HASH_BYTES + 12 > bytes.length) throw new Error('a block of replicas ends inside a chunk');
      const size = view.getUint32(at + HASH_BYTES) * 2 ** 32 + view.getUint32(at + HASH_BYTES + 4);
      const count = view.getUint32(at + HASH_BYTES + 8);
      const first = at + HASH_BYTES + 12;
      if (first + 4 * count > bytes.length) throw new Error('a block of replicas ends inside a chunk\'s holders');
      codes.length = count;
      for (let h = 0; h < count; h++) codes[h] = view.getUint32(first + 4 * h);
      table.loadHoldersOfBytes(bytes, at, size, codes, 0, count);
      at = first + 4 * count;
    }
  });
  table.finishLoad();
}

/** Parse and visit each block `reader` reads, in order. */
async function visitBlocks(reader: BlockReader<TextBlock>, visit: (values: unknown[], bytes: Uint8Array) => void): Promise<void> {
  for (let block = await reader.next(); block !== undefined; block = await reader.next()) {
    if (block.text !== null || block.bytes.length > 0) visit(block.text === null ? [] : JSON.parse(block.text) as unknown[], block.bytes);
  }
}

/** A block-read statement for every row of a table: key, then the row object (see `rowObjectSql`). */
function rowsSelect(spec: TableSpec): (where: (alias?: string) => string) => string {
  return (where) => `SELECT '[' || string_agg(to_json(k)::VARCHAR || ',' || ${rowObjectSql(spec)}, ',') || ']' FROM ${spec.name} WHERE ${where()}`;
}

function rowsVisit(spec: TableSpec, visit: (key: string, row: unknown) => void): (values: unknown[]) => void {
  return (values) => {
    for (let i = 0; i < values.length; i += 2) visit(values[i] as string, fromRowObject(spec, values[i + 1]));
  };
}

const FILES = TABLES.find((spec) => spec.name === 'files')!;
/** The files columns `loadFiles` builds rows from, in order. */
const FILE_FIELDS = ['id', 'name', 'size', 'chunk_size', 'replication_factor', 'created_at', 'chunks'] as const;
if (FILES.columns.map((c) => c.name).join() !== FILE_FIELDS.join()) throw new Error('files columns and FILE_FIELDS differ');

/**
 * The block-read statement for `files` in a load: per row the key and the fields as a
 * flat run of JSON values (`rowValuesSql`), except that a packed chunk list (see
 * `chunk-list.ts`) comes as its sizes, its hashes going into the block's BLOB, 32 bytes
 * each, in row order: as for replicas, no string or object per chunk crosses into JS.
 * DuckDB does no JSON work for it, only string functions.
 */
function filesSelect(): (where: (alias?: string) => string) => string {
  const values = rowValuesSql(FILES, { chunks: `CASE WHEN ${packedSql('chunks')} THEN ${packedSizesSql('chunks')} ELSE chunks END` });
  return (where) => `SELECT text, ${lowerHexToBlobSql('hex', 'damaged packed chunk list in files: hashes not lowercase hex')} FROM (SELECT
      '[' || string_agg(to_json(k)::VARCHAR || ',' || ${values}, ',' ORDER BY rowid) || ']' AS text,
      string_agg(CASE WHEN ${packedSql('chunks')} THEN ${packedHashesSql('chunks')} END, '' ORDER BY rowid) AS hex
    FROM (SELECT *, rowid FROM files WHERE ${where()}))`;
}

/**
 * Visit a block of `filesSelect`: each row is the key and FILE_FIELDS' values; a row
 * whose chunks are numbers is packed, its hashes next in `bytes`.
 */
function loadFiles(model: Model, values: unknown[], bytes: Uint8Array): void {
  const stride = 1 + FILE_FIELDS.length;
  if (values.length % stride !== 0) throw new Error(`a block of files holds ${values.length} values, not rows of ${stride}`);
  let offset = 0;
  for (let i = 0; i < values.length; i += stride) {
    const chunks = values[i + 7] as FileRow['chunks'] | number[];
    if (!Array.isArray(chunks)) throw new Error(`file ${String(values[i])} has no chunk list`);
    // Fields in column order, as JSON.parse of the row object would have made them.
    const row = { id: values[i + 1] as string, name: values[i + 2] as string, size: values[i + 3] as number, chunk_size: values[i + 4] as number | null,
      replication_factor: values[i + 5] as number, created_at: values[i + 6] as number, chunks };
    if (chunks.length > 0 && typeof chunks[0] === 'number') {
      const packed = row as PackedFileRow;
      if (offset + HASH_BYTES * packed.chunks.length > bytes.length) throw new Error('a block of files holds fewer hash bytes than its packed rows have chunks');
      model.loadPackedFile(values[i] as string, packed, bytes, offset);
      offset += HASH_BYTES * packed.chunks.length;
    } else {
      model.loadFile(values[i] as string, row as unknown as FileRow);
    }
  }
  if (offset !== bytes.length) throw new Error(`a block of files holds ${bytes.length} hash bytes, its packed rows took ${offset}`);
}

/** A block read as text (a JSON array; null for no rows) and, for a statement with a second value, a BLOB (empty otherwise). */
interface TextBlock { readonly text: string | null; readonly bytes: Uint8Array }

const NO_BYTES = new Uint8Array(0);

/** How a `BlockReader` reads a block and sizes the next. */
interface BlockSource<T> {
  /** Row ids in the first block. */
  readonly firstSpan: number;
  /** Run the block's statement; `where(alias)` restricts the table (as `alias`) to the block. */
  read(connection: DuckDBConnection, where: (alias?: string) => string): Promise<T>;
  /** Row ids in the block after one of `span` row ids that read `block`. */
  nextSpan(block: T, span: number): number;
}

/**
 * Blocks whose first value is the text of a JSON array (NULL for none) and whose second,
 * if there is one, a BLOB: one string per block crosses into JS instead of one per long value (a
 * native call each), and JSON.parse builds the rows. The first block spans
 * BLOCK_ROWS_FIRST row ids; each later one is sized from the bytes per row id of the
 * one before, for about BLOCK_BYTES (the BLOB counting twice: DuckDB built it from hex).
 */
function textBlocks(select: (where: (alias?: string) => string) => string): BlockSource<TextBlock> {
  return {
    firstSpan: BLOCK_ROWS_FIRST,
    read: async (connection, where) => {
      const [[text, blob]] = (await connection.runAndReadAll(select(where))).getRows();
      return { text: text === null ? null : String(text), bytes: blob instanceof DuckDBBlobValue ? blob.bytes : NO_BYTES };
    },
    nextSpan: (block, span) => {
      const bytes = (block.text?.length ?? 0) + 2 * block.bytes.length;
      return bytes === 0 ? span : Math.max(1, Math.min(BLOCK_ROWS_MAX, Math.floor((span * BLOCK_BYTES) / bytes)));
    },
  };
}

/**
 * Reads a table in blocks of row ids, in order, on its own connection, up to `depth`
 * blocks ahead of the consumer (`next`): DuckDB reads the next blocks while JS takes in
 * this one. A block's span is halved while DuckDB runs out of memory reading it (at
 * `db_memory_limit` 64 a 20 MB text does).
 */
class BlockReader<T> {
  readonly #ready: T[] = [];
  #done = false;
  #closed = false;
  #error: unknown = undefined;
  #wake: (() => void) | null = null;
  readonly #running: Promise<void>;

  constructor(private readonly connection: DuckDBConnection, private readonly table: string,
    private readonly source: BlockSource<T>, private readonly depth: number) {
    this.#running = this.#produce().catch((error: unknown) => { this.#error = error; }).finally(() => {
      this.#done = true;
      this.#signal();
    });
  }

  /** The next block, or undefined after the last. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.#ready.length > 0) {
        const block = this.#ready.shift();
        this.#signal();
        return block;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#done) return undefined;
      await new Promise<void>((resolve) => { this.#wake = resolve; });
    }
  }

  /** Stop reading ahead (the consumer is done or gave up) and wait for the statement in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#signal();
    await this.#running;
  }

  /** Wake whichever side waits: the consumer for a block, or the producer for room. */
  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #produce(): Promise<void> {
    const [bounds] = (await this.connection.runAndReadAll(`SELECT min(rowid), max(rowid) FROM ${this.table}`)).getRows();
    if (bounds[0] === null) return;
    const last = Number(bounds[1]);
    let from = Number(bounds[0]);
    let span = this.source.firstSpan;
    while (from <= last) {
      while (this.#ready.length >= this.depth && !this.#closed) await new Promise<void>((resolve) => { this.#wake = resolve; });
      if (this.#closed) return;
      const { block, used } = await this.#read(from, span);
      this.#ready.push(block);
      this.#signal();
      from += used;
      span = this.source.nextSpan(block, used);
    }
  }

  async #read(from: number, span: number): Promise<{ block: T; used: number }> {
    for (;;) {
      const to = from + span;
      const where = (alias?: string) => {
        const rowid = alias === undefined ? 'rowid' : `${alias}.rowid`;
        return `${rowid} >= ${from} AND ${rowid} < ${to}`;
      };
      try {
        return { block: await this.source.read(this.connection, where), used: span };
      } catch (error) {
        if (span === 1 || !String(error).includes('Out of Memory')) throw error;
        span = Math.ceil(span / 2);
      }
    }
  }
}
