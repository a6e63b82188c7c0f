// The DuckDB copy of the model. Deltas are written set-wise (DESIGN §3: row-at-a-time
// DuckDB is slow): per table a DELETE of the changed keys and an INSERT of the new rows,
// each row batch read by DuckDB from one CSV text (row-batch.ts), in a single transaction
// that also records applied_index and the tables' checksums.
import { rm, writeFile } from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ChunkTable } from '../chunk-table.js';
import { checksumHex } from '../hashed-table.js';
import { rowHash } from '../row-hash.js';
import type { Model } from '../model.js';
import { BlockReader, READ_AHEAD_BLOCKS, type TextBlock, textBlocks, visitBlocks, visitBlocksAsReady } from './block-reader.js';
import { LOAD_NODES_SQL, filesSelect, loadFiles, replicaBlockSelect, replicaVisit, rowsSelect, rowsVisit } from './bulk-load.js';
import { HEX_HASH } from './chunk-list.js';
import { type InsertStatement, insertStatement, insertStatementInSlices } from './row-batch.js';
import { TABLES, type TableSpec, createTableSql } from './tables.js';

// Version 2 dropped the primary keys on `k`: DuckDB keeps such an index in memory
// (about 100 MB for a million replica keys) and the model already guarantees uniqueness.
// Version 3 added `nodes.stats`. Version 4 stores each table's state checksum in
// raft_meta (`checksum_<table>`), written with the rows and applied_index in one
// transaction, so a load takes it instead of hashing every row again. Version 5 may keep
// `files.chunks` packed (see chunk-list.ts; version 4's JSON lists read as before) and
// flags replicas whose chunk hash a load can take as bytes (`hex_hash`). Version 6 changes
// the row hash the checksums are made of (row-hash.ts, was SHA-256 of the JSON text): the
// stored checksums are computed again from the rows.
export const SCHEMA_VERSION = 6;

/** A row hash: today's (row-hash.ts), or for a backup from before version 6 the one its checksum was made with. */
type RowHash = (table: string, key: string, row: unknown) => bigint;

/** The first schema version whose state checksums use today's row hash (a backup of an older one carries another kind). */
export const ROW_HASH_SINCE_VERSION = 6;

/** A table's changes since the last flush and its checksum after them (the model's, at the flushed index). */
export interface TableChanges { readonly spec: TableSpec; readonly upserts: [string, unknown][]; readonly deletes: string[]; readonly checksum: bigint }

const checksumKey = (spec: TableSpec): string => `checksum_${spec.name}`;
/** raft_meta key of the number of chunks the chunk table knows at the flushed index. */
const KNOWN_CHUNKS_KEY = 'known_chunks';
/** raft_meta values are BIGINT: a 64-bit checksum is kept as its two's-complement signed value. */
const toStored = (checksum: bigint): bigint => BigInt.asIntN(64, checksum);
const fromStored = (value: bigint): bigint => BigInt.asUintN(64, value);

/** DuckDB's threads (but one while loading: see `load`). */
const THREADS = 2;

export class DuckStore {
  /**
   * Reads (`query`) have their own connection: on the flusher's, a read would run inside an
   * open flush transaction, and a read that failed there would abort it, after which
   * DuckDB answers the COMMIT without error and keeps nothing. Here a read sees committed
   * data only, which is all it needs: it runs once `flush()` has returned.
   */
  readonly #reads: DuckDBConnection;
  /** Where a flush writes a batch of rows as CSV for DuckDB to read (row-batch.ts). */
  readonly #csvPath: string;
  #closed = false;

  private constructor(readonly path: string, private readonly memoryLimitMb: number, private readonly instance: DuckDBInstance,
    private connection: DuckDBConnection, reads: DuckDBConnection) {
    this.#reads = reads;
    this.#csvPath = `${path}.rows.csv`;
  }

  static async open(path: string, memoryLimitMb: number): Promise<DuckStore> {
    // allocator_background_threads: DuckDB's allocator (jemalloc) otherwise hands freed pages back to the
    // system only while it keeps allocating, so a node idle after a load (start-up, snapshot install)
    // kept ~30 MB of them; its background thread returns them within about a second.
    // enable_external_file_cache: the flusher's scratch CSV (row-batch.ts) is rewritten under one name every flush and
    // must always be read afresh, never from a cache of an earlier version.
    const instance = await DuckDBInstance.create(path, { memory_limit: `${memoryLimitMb}MB`, threads: String(THREADS), preserve_insertion_order: 'false',
      allocator_background_threads: 'true', enable_external_file_cache: 'false' });
    const connection = await instance.connect();
    const store = new DuckStore(path, memoryLimitMb, instance, connection, await instance.connect());
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
      // v4: stored per-table checksums. They are computed in the v6 step, which every older file reaches
      // before any load (a crash in between leaves a version it resumes from).
      await c.run(`UPDATE raft_meta SET value = 4 WHERE key = 'schema_version'`);
    }
    if (version !== null && version <= 4) {
      // v5: replicas carry hex_hash (see TABLES); files may keep chunk lists packed (old JSON lists read as before).
      await c.run('BEGIN TRANSACTION');
      await c.run('ALTER TABLE replicas ADD COLUMN hex_hash BIGINT DEFAULT 0');
      await c.run(`UPDATE replicas SET hex_hash = 1 WHERE regexp_full_match(chunk_hash, '${HEX_HASH.source.slice(1, -1)}')`);
      await c.run(`UPDATE raft_meta SET value = 5 WHERE key = 'schema_version'`);
      await c.run('COMMIT');
    }
    if (version !== null && version < ROW_HASH_SINCE_VERSION) {
      // v6: the stored checksums, from the rows, with the row hash of today (row-hash.ts).
      const checksums = await this.#checksumsFromRows();
      await c.run('BEGIN TRANSACTION');
      for (const [i, spec] of TABLES.entries()) await this.#setChecksum(spec, checksums[i]);
      await c.run(`UPDATE raft_meta SET value = 6 WHERE key = 'schema_version'`);
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
   * Write the changes and applied_index atomically. Rows travel as text DuckDB parses off
   * the JS thread (CSV in a scratch file, or JSON bound to a parameter: row-batch.ts); the
   * appender took one native call per value on the main thread, about 20 µs per row.
   * Apply goes on meanwhile: rows of a `liveRows` table read the model when serialized (a
   * `FileRecord` lists its chunks from the chunk table, whose slots a later delete may free
   * and reuse), so they are turned into text before the first await; other rows are
   * replaced, never mutated, and are turned into text statement by statement.
   */
  async write(changes: readonly TableChanges[], appliedIndex: number, knownChunks: number): Promise<number> {
    this.#assertOpen();
    // Each statement is built right before it runs, its CSV text in slices with the event
    // loop let through between them: building every batch's text at once held the loop for
    // tens of ms a flush (9,000 node rows: ~45 ms), and no request was answered meanwhile.
    const statements: (() => InsertStatement | Promise<InsertStatement>)[] = [];
    let rows = 0;
    for (const { spec, upserts, deletes } of changes) {
      // Deleted rows and the stored versions of upserted ones (a key new since the last flush
      // needs none: change-set.ts). Without a key index each DELETE scans the table: one per
      // 5,000 keys, so a flush past that (a bulk build) scans it again per batch.
      for (let i = 0; i < deletes.length; i += ROWS_PER_STATEMENT) {
        const keys = deletes.slice(i, i + ROWS_PER_STATEMENT);
        statements.push(() => ({ sql: `DELETE FROM ${spec.name} WHERE k IN (SELECT unnest(from_json($keys, '["VARCHAR"]')))`,
          values: { keys: JSON.stringify(keys) }, csv: null }));
      }
      for (let i = 0; i < upserts.length; i += ROWS_PER_STATEMENT) {
        const batch = upserts.slice(i, i + ROWS_PER_STATEMENT);
        if (spec.liveRows === true) {
          const now = insertStatement(spec, batch, this.#csvPath);
          statements.push(() => now);
        } else {
          statements.push(() => insertStatementInSlices(spec, batch, this.#csvPath));
        }
      }
      rows += upserts.length + deletes.length;
    }
    // applied_index, the checksums of the tables it describes and the chunk count (for a load to size the chunk table), in one statement.
    const meta = [`('applied_index', ${Math.floor(appliedIndex)})`, `('${KNOWN_CHUNKS_KEY}', ${Math.floor(knownChunks)})`,
      ...changes.map(({ spec, checksum }) => `('${checksumKey(spec)}', ${toStored(checksum)})`)];
    statements.push(() => ({ sql: `INSERT INTO raft_meta VALUES ${meta.join(', ')} ON CONFLICT (key) DO UPDATE SET value = excluded.value`, values: {}, csv: null }));
    const c = this.connection;
    let wroteCsv = false;
    await c.run('BEGIN TRANSACTION');
    try {
      for (const build of statements) {
        const { sql, values, csv } = await build();
        if (csv !== null) {
          wroteCsv = true;
          await writeFile(this.#csvPath, csv, { mode: 0o600 }); // the state's rows: readable by the owner only
        }
        await c.run(sql, values);
      }
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // Scratch only: never synced, read back at once, not part of the state (a crash may leave it; the next flush
      // overwrites it). Failing to remove it must not fail a flush that committed, nor hide why one did not.
      if (wroteCsv) await rm(this.#csvPath, { force: true }).catch(() => undefined);
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
    // The replicas, the most DuckDB work, are read on this connection; the small tables and
    // then `files` on a second. Each reader keeps up to READ_AHEAD_BLOCKS ahead of JS, which
    // takes whichever block is ready. One DuckDB thread per statement while loading: two
    // statements run at once anyway, and a second thread each only cost CPU (a sixth more)
    // that JS needs.
    const ahead = await this.instance.connect();
    let files: BlockReader<TextBlock> | null = null;
    let replicas: Promise<BlockReader<TextBlock>> | null = null;
    let loaded = false;
    try {
      await this.connection.run('SET threads = 1');
      replicas = this.#replicaReader(model.replicas);
      replicas.catch(() => undefined); // awaited below; a failure of the small tables first must not leave it unhandled
      for (const spec of TABLES) {
        const { loadRow } = spec;
        if (loadRow !== undefined) await this.#blocks(spec.name, rowsSelect(spec), rowsVisit(spec, (key, row) => loadRow(model, key, row)), ahead);
        else if (spec.name !== 'replicas' && spec.name !== 'files') throw new Error(`no way to load table ${spec.name}`);
      }
      files = new BlockReader(ahead, 'files', textBlocks(filesSelect()), READ_AHEAD_BLOCKS);
      await visitBlocksAsReady([[await replicas, replicaVisit(model.replicas)], [files, (values, bytes) => loadFiles(model, values, bytes)]]);
      model.replicas.finishLoad();
      for (const [i, spec] of TABLES.entries()) spec.table(model).adoptChecksum(checksums[i]);
      loaded = true;
    } finally {
      try {
        await files?.close();
        await replicas?.then((reader) => reader.close(), () => undefined);
        // A failure here must not hide the load's own; the next load replaces the table anyway.
        await this.connection.run('DROP TABLE IF EXISTS load_nodes').catch(() => undefined);
        // After a load that worked, a node left on one thread must not go unnoticed.
        const restore = this.connection.run(`SET threads = ${THREADS}`);
        await (loaded ? restore : restore.catch(() => undefined));
      } finally {
        ahead.disconnectSync();
      }
    }
  }

  /**
   * A reader of the replicas grouped by chunk (see `replicaBlockSelect`), after it has
   * numbered the nodes and sized the chunk table.
   */
  async #replicaReader(table: ChunkTable): Promise<BlockReader<TextBlock>> {
    const c = this.connection;
    await c.run(LOAD_NODES_SQL);
    const ids = (await c.runAndReadAll('SELECT node_id FROM load_nodes ORDER BY n')).getRows().map((r) => String(r[0]));
    table.loadNodeIds(ids);
    // Sized once for the chunks the rows were written with (absent before a flush recorded it), but for no more
    // than the replica rows (each chunk that comes from them has one): a damaged hint cannot make it allocate more.
    const [[replicas]] = (await c.runAndReadAll('SELECT count(*) FROM replicas')).getRows();
    table.reserve(Math.min((await this.#meta(KNOWN_CHUNKS_KEY)) ?? 0, Number(replicas)));
    return new BlockReader(c, 'replicas', textBlocks(replicaBlockSelect), READ_AHEAD_BLOCKS);
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
  async checksum(hash: RowHash = rowHash): Promise<string> {
    return checksumHex((await this.#checksumsFromRows(hash)).reduce((a, b) => a ^ b, 0n));
  }

  async #checksumsFromRows(hash: RowHash = rowHash): Promise<bigint[]> {
    const checksums: bigint[] = [];
    for (const spec of TABLES) {
      let total = 0n;
      await this.#rows(spec, (key, row) => { total ^= hash(spec.name, key, row); });
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
    this.#assertOpen();
    await this.connection.run('CHECKPOINT');
  }

  async query(sql: string, values?: Record<string, string>): Promise<Record<string, unknown>[]> {
    this.#assertOpen();
    const reader = await this.#reads.runAndReadAll(sql, values);
    return reader.getRowObjects() as Record<string, unknown>[];
  }

  /** Idempotent; afterwards query, write and checkpoint throw instead of reaching a closed DuckDB. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reads.disconnectSync();
    this.connection.disconnectSync();
    this.instance.closeSync();
  }

  #assertOpen(): void {
    if (this.#closed) throw Object.assign(new Error('the state database is closed'), { code: 'CONCORD_ERR_STOPPED' });
  }
}

/** Rows per statement: bounds the JSON text DuckDB holds at once (db_memory_limit may be small). */
const ROWS_PER_STATEMENT = 5_000;

