// How each model table maps to DuckDB columns. Every table has the model's key in
// column `k` (unique, kept so by the model; no index) and one plain column per row field, in the row's own
// field order, so a row read back rebuilds exactly (same JSON, same checksum).
import type { MetaRow, Model, NodeRow, ReplicaRow, RequestRow, TaskRow } from '../model.js';
import { HEX_HASH, decodeChunkList, packedSql } from './chunk-list.js';

/** What the store needs of a model table: its changes and checksum. */
export interface SyncedTable {
  readonly changeCount: number;
  readonly checksum: bigint;
  takeChanges(): { upserts: [string, unknown][]; deletes: string[] };
  adoptChecksum(checksum: bigint): void;
}

/** `chunks`: a file's chunk list, kept as `chunk-list.ts` says (JSON or packed). */
export type ColumnKind = 'text' | 'int' | 'json' | 'chunks';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable?: boolean;
}

/** A column that is not a row field: the flusher writes a value derived from the row, reads leave it out. */
export interface DerivedColumn {
  readonly name: string;
  readonly value: (row: unknown) => number;
}

export interface TableSpec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  /** After `columns`, in this order (a migration appends them). */
  readonly derived?: readonly DerivedColumn[];
  readonly table: (model: Model) => SyncedTable;
  /**
   * How a row read back joins a fresh model; absent for `replicas` (the store loads them
   * grouped by chunk) and `files` (whose packed chunk hashes it hands over as bytes).
   */
  readonly loadRow?: (model: Model, key: string, row: unknown) => void;
  /**
   * Rows are views of model state that later applies change (a file lists its chunks from
   * chunk-table slots, which a deleted file's successor may reuse): a flush serializes them
   * before it first yields. Rows of other tables are replaced, never mutated, so a taken row
   * still reads as it did at the take.
   */
  readonly liveRows?: true;
}

const text = (name: string, nullable = false): ColumnSpec => ({ name, kind: 'text', nullable });
const int = (name: string, nullable = false): ColumnSpec => ({ name, kind: 'int', nullable });
const json = (name: string): ColumnSpec => ({ name, kind: 'json' });
const chunkList = (name: string): ColumnSpec => ({ name, kind: 'chunks' });

/** The model's tables (a load reads `replicas` and `files` interleaved, the others one after another). */
export const TABLES: readonly TableSpec[] = [
  { name: 'nodes', table: (m) => m.nodes, loadRow: (m, k, r) => m.nodes.load(k, r as NodeRow), columns: [text('id'), json('addresses'),
    int('capacity'), int('used'), json('capabilities'), text('zone', true), text('status'), int('registered_at'), int('last_heartbeat'), json('stats')] },
  { name: 'replicas', table: (m) => m.replicas, columns: [text('chunk_hash'), text('node_id'), text('state'), int('size')],
    // 1 when the hash is 64 lowercase hex digits, which a load hands over as bytes: a flag set on write is cheaper than a
    // regular expression per chunk on every load.
    derived: [{ name: 'hex_hash', value: (row) => Number(HEX_HASH.test((row as ReplicaRow).chunk_hash)) }] },
  { name: 'files', table: (m) => m.files, liveRows: true, columns: [text('id'), text('name'), int('size'),
    int('chunk_size', true), int('replication_factor'), int('created_at'), chunkList('chunks')] },
  { name: 'tasks', table: (m) => m.tasks, loadRow: (m, k, r) => m.tasks.load(k, r as TaskRow), columns: [text('id'), text('kind'), json('payload'),
    text('status'), int('priority'), json('required_capabilities'), text('worker_id', true), int('lease_expires_at', true), int('attempts'),
    int('max_attempts'), json('result'), text('error', true), int('created_at'), int('updated_at')] },
  { name: 'meta', table: (m) => m.meta, loadRow: (m, k, r) => m.meta.load(k, r as MetaRow), columns: [text('key'), json('value')] },
  { name: 'requests', table: (m) => m.requests, loadRow: (m, k, r) => m.requests.load(k, r as RequestRow), columns: [text('key'), json('result'), int('ts')] },
];

const SQL_TYPE: Record<ColumnKind, string> = { text: 'VARCHAR', int: 'BIGINT', json: 'VARCHAR', chunks: 'VARCHAR' };

export function createTableSql(spec: TableSpec): string {
  const columns = spec.columns.map((c) => `"${c.name}" ${SQL_TYPE[c.kind]}${c.nullable === true || c.kind === 'json' || c.kind === 'chunks' ? '' : ' NOT NULL'}`);
  const derived = (spec.derived ?? []).map((c) => `, "${c.name}" BIGINT NOT NULL`).join('');
  return `CREATE TABLE IF NOT EXISTS ${spec.name} (k VARCHAR NOT NULL, ${columns.join(', ')}${derived})`;
}

/** Rebuild a model row from a DuckDB row (field order = column order). */
export function rowFromColumns(spec: TableSpec, values: Record<string, unknown>): unknown {
  const row: Record<string, unknown> = {};
  for (const column of spec.columns) {
    const raw = values[column.name];
    if (raw === null || raw === undefined) row[column.name] = column.kind === 'json' || column.kind === 'chunks' ? undefined : null;
    else if (column.kind === 'int') row[column.name] = Number(raw);
    else if (column.kind === 'json') row[column.name] = JSON.parse(String(raw));
    else if (column.kind === 'chunks') row[column.name] = decodeChunkList(String(raw));
    else row[column.name] = String(raw);
  }
  return row;
}

/**
 * SQL for one row as the text of a JSON object with the row's fields in column order,
 * for bulk reads: JSON.parse then builds the row itself, the same row `rowFromColumns`
 * gives (text JSON-escaped, ints as integers, JSON columns embedded as stored), except
 * that a JSON column that is SQL NULL is left out rather than set to undefined (the
 * same row to JSON.stringify, so the same checksum), and a packed chunk list comes as a
 * string for `fromRowObject` to decode.
 */
export function rowObjectSql(spec: TableSpec): string {
  const fields = spec.columns.map((c) => {
    const name = `"${c.name}"`;
    if (c.kind === 'json') return `'${name}:' || ${validJsonSql(spec.name, c.name)}`; // NULL: concat_ws leaves the field out
    // A packed list comes as a JSON string, which `fromRowObject` decodes.
    if (c.kind === 'chunks') return `'${name}:' || CASE WHEN ${packedSql(name)} THEN to_json(${name})::VARCHAR ELSE ${validJsonSql(spec.name, c.name)} END`;
    return `'${name}:' || ${scalarValueSql(name, c.kind)}`;
  });
  return `'{' || concat_ws(',', ${fields.join(', ')}) || '}'`;
}

/**
 * SQL: a column of JSON text as it is stored (NULL stays NULL), or an error (which fails
 * the statement) unless it is one valid JSON value: bulk reads embed it in the text of a
 * row, where damaged text could add fields or rows.
 */
export function validJsonSql(table: string, column: string): string {
  return `CASE WHEN "${column}" IS NULL OR json_valid("${column}") THEN "${column}" ELSE error('damaged JSON in ${table}.${column}') END`;
}

/** SQL: a text or int column's value as JSON text (text escaped, SQL NULL as null). */
function scalarValueSql(name: string, kind: 'text' | 'int'): string {
  return `coalesce(${kind === 'text' ? `to_json(${name})::VARCHAR` : `CAST(${name} AS VARCHAR)`}, 'null')`;
}

/**
 * SQL for one row's fields as JSON values in column order, comma-separated, without
 * names (a bulk read then parses flat arrays, about half the text and time of objects):
 * text JSON-escaped, ints as integers, SQL NULL as null. `replace` gives SQL (JSON text)
 * for a column's value; a JSON or chunk-list column needs one.
 */
export function rowValuesSql(spec: TableSpec, replace: Readonly<Record<string, string>>): string {
  return spec.columns.map((c) => {
    const name = `"${c.name}"`;
    const replacement = replace[c.name];
    if (replacement !== undefined) return `coalesce(${replacement}, 'null')`;
    if (c.kind === 'text' || c.kind === 'int') return scalarValueSql(name, c.kind);
    throw new Error(`column ${spec.name}.${c.name} needs SQL for its value`);
  }).join(` || ',' || `);
}

/** A row parsed from `rowObjectSql`'s text, with its packed chunk lists decoded (in place). */
export function fromRowObject(spec: TableSpec, row: unknown): unknown {
  for (const column of spec.columns) {
    if (column.kind !== 'chunks') continue;
    const values = row as Record<string, unknown>;
    const value = values[column.name];
    if (typeof value === 'string') values[column.name] = decodeChunkList(value);
  }
  return row;
}
