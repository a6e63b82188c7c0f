// The DuckDB copy of the model. Deltas are written set-wise (DESIGN §3: row-at-a-time
// DuckDB is slow): appenders fill temporary staging tables, then one upsert and one
// delete per table run in a single transaction that also records applied_index.
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { rowHash } from '../hashed-table.js';
import type { Model } from '../model.js';
import { TABLES, type TableSpec, createTableSql, rowFromColumns } from './tables.js';

// Version 2 dropped the primary keys on `k`: DuckDB keeps such an index in memory
// (about 100 MB for a million replica keys) and the model already guarantees uniqueness.
// Version 3 added `nodes.stats`. Version 4 stores each table's state checksum in
// raft_meta (`checksum_<table>`), written with the rows and applied_index in one
// transaction, so a load takes it instead of hashing every row again.
export const SCHEMA_VERSION = 4;

/** A table's changes since the last flush and its checksum after them (the model's, at the flushed index). */
export interface TableChanges { readonly spec: TableSpec; readonly upserts: [string, unknown][]; readonly deletes: string[]; readonly checksum: bigint }

const checksumKey = (spec: TableSpec): string => `checksum_${spec.name}`;
/** raft_meta values are BIGINT: a 64-bit checksum is kept as its two's-complement signed value. */
const toStored = (checksum: bigint): bigint => BigInt.asIntN(64, checksum);
const fromStored = (value: bigint): bigint => BigInt.asUintN(64, value);
export const checksumHex = (checksum: bigint): string => checksum.toString(16).padStart(16, '0');

export class DuckStore {
  private constructor(readonly path: string, private instance: DuckDBInstance, private connection: DuckDBConnection) {}

  static async open(path: string, memoryLimitMb: number): Promise<DuckStore> {
    const instance = await DuckDBInstance.create(path, { memory_limit: `${memoryLimitMb}MB`, threads: '2', preserve_insertion_order: 'false' });
    const connection = await instance.connect();
    const store = new DuckStore(path, instance, connection);
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
    for (const spec of TABLES) {
      await c.run(createTableSql(spec));
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_${spec.name} AS SELECT * FROM ${spec.name} LIMIT 0`);
      await c.run(`CREATE OR REPLACE TEMP TABLE drop_${spec.name} (k VARCHAR)`);
    }
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
  async storedChecksums(): Promise<bigint[]> {
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
    return checksumHex((await this.storedChecksums()).reduce((a, b) => a ^ b, 0n));
  }

  async appliedIndex(): Promise<number> {
    return (await this.#meta('applied_index')) ?? 0;
  }

  /** Write the changes and applied_index atomically. */
  async write(changes: readonly TableChanges[], appliedIndex: number): Promise<number> {
    const c = this.connection;
    let rows = 0;
    // A staging table is emptied just before it is filled and read only in the flush that
    // filled it, so tables without changes cost no statement at all (most flushes touch one or two).
    // Every changed key goes to drop_<table> (deleted rows and the old versions of upserted
    // ones): without a key index each DELETE scans the table, so there is one per table.
    for (const { spec, upserts, deletes } of changes) {
      if (upserts.length > 0) {
        await c.run(`DELETE FROM stage_${spec.name}`);
        await this.#stage(`stage_${spec.name}`, (a) => upserts.forEach(([k, row]) => appendRow(a, spec, k, row)));
      }
      if (upserts.length > 0 || deletes.length > 0) {
        await c.run(`DELETE FROM drop_${spec.name}`);
        await this.#stage(`drop_${spec.name}`, (a) => {
          for (const k of deletes) { a.appendVarchar(k); a.endRow(); }
          for (const [k] of upserts) { a.appendVarchar(k); a.endRow(); }
        });
      }
      rows += upserts.length + deletes.length;
    }
    await c.run('BEGIN TRANSACTION');
    try {
      for (const { spec, upserts, deletes } of changes) {
        if (upserts.length > 0 || deletes.length > 0) await c.run(`DELETE FROM ${spec.name} WHERE k IN (SELECT k FROM drop_${spec.name})`);
        if (upserts.length > 0) await c.run(`INSERT INTO ${spec.name} SELECT * FROM stage_${spec.name}`);
      }
      // applied_index and the checksums of the tables it describes, in one statement.
      const values = [`('applied_index', ${Math.floor(appliedIndex)})`, ...changes.map(({ spec, checksum }) => `('${checksumKey(spec)}', ${toStored(checksum)})`)];
      await c.run(`INSERT INTO raft_meta VALUES ${values.join(', ')} ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return rows;
  }

  async #stage(table: string, fill: (appender: DuckDBAppender) => void): Promise<void> {
    const appender = await this.connection.createAppender(table, 'main', 'temp');
    try {
      fill(appender);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /**
   * Bulk-load every table into a fresh model, streaming one vector (2,048 rows) at a
   * time. The rows are not hashed: each table takes the checksum stored with them
   * (the rows and the checksums were committed together). `checksum()` recomputes it
   * from the rows, for `/api/health/db` and backup verification.
   */
  async load(model: Model): Promise<void> {
    const checksums = await this.storedChecksums();
    for (const [i, spec] of TABLES.entries()) {
      const table = spec.table(model);
      await this.#scan(spec, (key, row) => table.load(key, row));
      table.adoptChecksum(checksums[i]);
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
      await this.#scan(spec, (key, row) => { total ^= rowHash(spec.name, key, row); });
      checksums.push(total);
    }
    return checksums;
  }

  async #scan(spec: TableSpec, visit: (key: string, row: unknown) => void): Promise<void> {
    const names = ['k', ...spec.columns.map((c) => c.name)];
    const result = await this.connection.stream(`SELECT ${names.map((n) => `"${n}"`).join(', ')} FROM ${spec.name}`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      for (const values of chunk.getRowObjects(names)) visit(String(values.k), rowFromColumns(spec, values));
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

function appendRow(appender: DuckDBAppender, spec: TableSpec, key: string, row: unknown): void {
  const values = row as Record<string, unknown>;
  appender.appendVarchar(key);
  for (const column of spec.columns) {
    const value = values[column.name];
    // JSON keeps null as the text "null" so a row reads back exactly; only undefined is SQL NULL.
    if (column.kind === 'json') {
      if (value === undefined) appender.appendNull();
      else appender.appendVarchar(JSON.stringify(value));
    } else if (value === null || value === undefined) appender.appendNull();
    else if (column.kind === 'int') appender.appendBigInt(BigInt(value as number));
    else appender.appendVarchar(String(value));
  }
  appender.endRow();
}
