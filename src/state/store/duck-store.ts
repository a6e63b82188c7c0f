// The DuckDB copy of the model. Deltas are written set-wise (DESIGN §3: row-at-a-time
// DuckDB is slow): appenders fill temporary staging tables, then one upsert and one
// delete per table run in a single transaction that also records applied_index.
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { rowHash } from '../hashed-table.js';
import type { Model } from '../model.js';
import { TABLES, type TableSpec, createTableSql, rowFromColumns } from './tables.js';

export const SCHEMA_VERSION = 1;

export interface TableChanges { readonly spec: TableSpec; readonly upserts: [string, unknown][]; readonly deletes: string[] }

export class DuckStore {
  private constructor(readonly path: string, private instance: DuckDBInstance, private connection: DuckDBConnection) {}

  static async open(path: string, memoryLimitMb: number): Promise<DuckStore> {
    const instance = await DuckDBInstance.create(path, { memory_limit: `${memoryLimitMb}MB`, threads: '2' });
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
    // Migrations from older versions go here, one step per version.
    for (const spec of TABLES) {
      await c.run(createTableSql(spec));
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_${spec.name} AS SELECT * FROM ${spec.name} LIMIT 0`);
      await c.run(`CREATE OR REPLACE TEMP TABLE drop_${spec.name} (k VARCHAR)`);
    }
    await c.run(`INSERT INTO raft_meta VALUES ('schema_version', ${SCHEMA_VERSION}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  }

  async #meta(key: string): Promise<number | null> {
    const reader = await this.connection.runAndReadAll(`SELECT value FROM raft_meta WHERE key = '${key}'`);
    const rows = reader.getRowObjects();
    return rows.length === 0 ? null : Number(rows[0].value);
  }

  async appliedIndex(): Promise<number> {
    return (await this.#meta('applied_index')) ?? 0;
  }

  /** Write the changes and applied_index atomically. */
  async write(changes: readonly TableChanges[], appliedIndex: number): Promise<number> {
    const c = this.connection;
    let rows = 0;
    for (const { spec, upserts, deletes } of changes) {
      await c.run(`DELETE FROM stage_${spec.name}`);
      await c.run(`DELETE FROM drop_${spec.name}`);
      if (upserts.length > 0) await this.#stage(`stage_${spec.name}`, (a) => upserts.forEach(([k, row]) => appendRow(a, spec, k, row)));
      if (deletes.length > 0) await this.#stage(`drop_${spec.name}`, (a) => deletes.forEach((k) => { a.appendVarchar(k); a.endRow(); }));
      rows += upserts.length + deletes.length;
    }
    await c.run('BEGIN TRANSACTION');
    try {
      for (const { spec, upserts, deletes } of changes) {
        if (deletes.length > 0) await c.run(`DELETE FROM ${spec.name} WHERE k IN (SELECT k FROM drop_${spec.name})`);
        if (upserts.length > 0) {
          const set = spec.columns.map((col) => `"${col.name}" = excluded."${col.name}"`).join(', ');
          await c.run(`INSERT INTO ${spec.name} SELECT * FROM stage_${spec.name} ON CONFLICT (k) DO UPDATE SET ${set}`);
        }
      }
      await c.run(`INSERT INTO raft_meta VALUES ('applied_index', ${Math.floor(appliedIndex)}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
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

  /** Bulk-load every table into a fresh model. */
  async load(model: Model): Promise<void> {
    for (const spec of TABLES) {
      const table = spec.table(model);
      const reader = await this.connection.runAndReadAll(`SELECT * FROM ${spec.name} ORDER BY k`);
      for (const values of reader.getRowObjects()) table.load(String(values.k), rowFromColumns(spec, values));
    }
  }

  /** The model checksum recomputed from the database's rows. */
  async checksum(): Promise<string> {
    let total = 0n;
    for (const spec of TABLES) {
      const reader = await this.connection.runAndReadAll(`SELECT * FROM ${spec.name}`);
      for (const values of reader.getRowObjects()) total ^= rowHash(spec.name, String(values.k), rowFromColumns(spec, values));
    }
    return total.toString(16).padStart(16, '0');
  }

  async checkpoint(): Promise<void> {
    await this.connection.run('CHECKPOINT');
  }

  async query(sql: string): Promise<Record<string, unknown>[]> {
    const reader = await this.connection.runAndReadAll(sql);
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
