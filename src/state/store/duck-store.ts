// The DuckDB copy of the model. Deltas are written set-wise (DESIGN §3: row-at-a-time
// DuckDB is slow): per table a DELETE of the changed keys and an INSERT of the new rows,
// each row batch bound as one JSON text that DuckDB unpacks, in a single transaction that
// also records applied_index and the tables' checksums.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { checksumHex, rowHash } from '../hashed-table.js';
import type { Model } from '../model.js';
import type { ChunkTable } from '../chunk-table.js';
import { TABLES, type TableSpec, createTableSql, rowObjectSql } from './tables.js';

// Version 2 dropped the primary keys on `k`: DuckDB keeps such an index in memory
// (about 100 MB for a million replica keys) and the model already guarantees uniqueness.
// Version 3 added `nodes.stats`. Version 4 stores each table's state checksum in
// raft_meta (`checksum_<table>`), written with the rows and applied_index in one
// transaction, so a load takes it instead of hashing every row again.
export const SCHEMA_VERSION = 4;

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

const checksumKey = (spec: TableSpec): string => `checksum_${spec.name}`;
/** raft_meta key of the number of chunks the chunk table knows at the flushed index. */
const KNOWN_CHUNKS_KEY = 'known_chunks';
/** raft_meta values are BIGINT: a 64-bit checksum is kept as its two's-complement signed value. */
const toStored = (checksum: bigint): bigint => BigInt.asIntN(64, checksum);
const fromStored = (value: bigint): bigint => BigInt.asUintN(64, value);

export class DuckStore {
  private constructor(readonly path: string, private readonly memoryLimitMb: number, private instance: DuckDBInstance,
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
    for (const [i, spec] of TABLES.entries()) {
      const { loadRow } = spec;
      if (loadRow === undefined) await this.#loadReplicas(model.replicas);
      else await this.#rows(spec, (key, row) => loadRow(model, key, row));
      spec.table(model).adoptChecksum(checksums[i]);
    }
  }

  /**
   * Replicas grouped by chunk, each block one flat JSON array of hash, size, holder count
   * and the holders as the chunk table codes them (node number × 2 + state, 1 = stored),
   * the node numbers given by a temporary table: one hash string per chunk (per block)
   * crosses into JS instead of a key, hash and node id per replica, and JSON.parse
   * builds no object or array per chunk.
   */
  async #loadReplicas(table: ChunkTable): Promise<void> {
    const c = this.connection;
    await c.run(`CREATE OR REPLACE TEMP TABLE load_nodes AS
      SELECT node_id, (row_number() OVER (ORDER BY node_id) - 1)::INTEGER AS n FROM (SELECT DISTINCT node_id FROM replicas)`);
    try {
      const ids = (await c.runAndReadAll('SELECT node_id FROM load_nodes ORDER BY n')).getRows().map((r) => String(r[0]));
      table.loadNodeIds(ids);
      // Sized once for the chunks the rows were written with (absent before a flush recorded it), but for no more
      // than the replica rows (each chunk that comes from them has one): a damaged hint cannot make it allocate more.
      const [[replicas]] = (await c.runAndReadAll('SELECT count(*) FROM replicas')).getRows();
      table.reserve(Math.min((await this.#meta(KNOWN_CHUNKS_KEY)) ?? 0, Number(replicas)));
      await this.#blocks('replicas', (where) => `SELECT '[' || string_agg(to_json(chunk_hash)::VARCHAR || ',' || size || ',' || holders || ',' || codes, ',') || ']'
        FROM (SELECT r.chunk_hash, min(r.size) AS size, count(*) AS holders,
            string_agg((l.n * 2 + CASE WHEN r.state = 'stored' THEN 1 ELSE 0 END)::VARCHAR, ',') AS codes
          FROM replicas r JOIN load_nodes l USING (node_id) WHERE ${where('r')} GROUP BY r.chunk_hash)`, (values) => {
        for (let i = 0; i < values.length; i += 3 + (values[i + 2] as number)) {
          table.loadHolders(values[i] as string, values[i + 1] as number, values, i + 3, values[i + 2] as number);
        }
      });
      table.finishLoad();
    } finally {
      await c.run('DROP TABLE IF EXISTS load_nodes');
    }
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
    const select = (where: (alias?: string) => string) =>
      `SELECT '[' || string_agg(to_json(k)::VARCHAR || ',' || ${rowObjectSql(spec)}, ',') || ']' FROM ${spec.name} WHERE ${where()}`;
    await this.#blocks(spec.name, select, (values) => {
      for (let i = 0; i < values.length; i += 2) visit(values[i] as string, values[i + 1]);
    });
  }

  /**
   * Read a table in blocks of row ids: `select(where)` is one statement whose single
   * value is the block as the text of a JSON array (NULL for an empty block);
   * `where(alias)` restricts the table (as `alias`) to the block. Each block's span is
   * set from the bytes per row id of the one before, for about BLOCK_BYTES of text, and
   * halved while DuckDB runs out of memory building it (at `db_memory_limit` 64 a
   * 20 MB text does). DuckDB builds the next block while JS parses this one.
   */
  async #blocks(table: string, select: (where: (alias?: string) => string) => string, visit: (values: unknown[]) => void): Promise<void> {
    const [bounds] = (await this.connection.runAndReadAll(`SELECT min(rowid), max(rowid) FROM ${table}`)).getRows();
    if (bounds[0] === null) return;
    const last = Number(bounds[1]);
    interface Block { readonly text: string | null; readonly to: number; readonly span: number }
    const read = async (from: number, span: number): Promise<Block> => {
      for (;;) {
        const to = from + span;
        const where = (alias?: string) => {
          const rowid = alias === undefined ? 'rowid' : `${alias}.rowid`;
          return `${rowid} >= ${from} AND ${rowid} < ${to}`;
        };
        try {
          const [[text]] = (await this.connection.runAndReadAll(select(where))).getRows();
          return { text: text === null ? null : String(text), to, span };
        } catch (error) {
          if (span === 1 || !String(error).includes('Out of Memory')) throw error;
          span = Math.ceil(span / 2);
        }
      }
    };
    let next: Promise<Block> | null = read(Number(bounds[0]), BLOCK_ROWS_FIRST);
    while (next !== null) {
      const block: Block = await next;
      const span = block.text === null ? block.span
        : Math.max(1, Math.min(BLOCK_ROWS_MAX, Math.floor((block.span * BLOCK_BYTES) / Math.max(block.text.length, 1))));
      next = block.to <= last ? read(block.to, span) : null;
      if (block.text !== null) visit(JSON.parse(block.text) as unknown[]);
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
 */
function rowJson(spec: TableSpec, key: string, row: unknown): Record<string, unknown> {
  const values = row as Record<string, unknown>;
  const out: Record<string, unknown> = { k: key };
  spec.columns.forEach((column, i) => {
    const value = values[column.name];
    if (column.kind === 'json') out[`c${i}`] = value === undefined ? null : JSON.stringify(value);
    else if (value === null || value === undefined) out[`c${i}`] = null;
    else out[`c${i}`] = column.kind === 'int' ? value : String(value);
  });
  return out;
}

const insertSql = new Map<string, string>();

/** INSERT of the rows in `$rows` (a JSON array of `rowJson` objects) into the table. */
function insertFromJsonSql(spec: TableSpec): string {
  let sql = insertSql.get(spec.name);
  if (sql === undefined) {
    const structure = JSON.stringify([Object.fromEntries([['k', 'VARCHAR'], ...spec.columns.map((c, i) => [`c${i}`, c.kind === 'int' ? 'BIGINT' : 'VARCHAR'])])]);
    const columns = ['r.k', ...spec.columns.map((_, i) => `r.c${i}`)].join(', ');
    sql = `INSERT INTO ${spec.name} SELECT ${columns} FROM (SELECT unnest(from_json($rows, '${structure}')) AS r)`;
    insertSql.set(spec.name, sql);
  }
  return sql;
}
