// How a batch of rows reaches DuckDB for an INSERT. As CSV text in a scratch file that
// `read_csv` reads: for 9,000 task rows 50–59 ms of CPU against 103 ms for the same rows
// as one JSON text unpacked by `from_json` (which was itself cheaper than the appender's
// call per value on the main thread). A batch holding a value that CSV does not carry
// exactly goes as JSON instead: a string with a lone surrogate cannot be written as UTF-8,
// a line near `read_csv`'s 2 MiB limit (a huge chunk list, a task with a large payload
// and result) would be refused, and an integer column must hold a safe integer to be
// written as digits. So does every batch when DuckDB would expand the scratch path.
import type { FileChunk } from '../file-record.js';
import { encodeChunkList } from './chunk-list.js';
import type { TableSpec } from './tables.js';

/** An INSERT of one batch: `csv`, when not null, is the text to write to the scratch file before running `sql`. */
export interface InsertStatement {
  readonly sql: string;
  readonly values: Record<string, string>;
  readonly csv: string | null;
}

/** Longest line sent as CSV, in UTF-8 bytes: below read_csv's limit (`max_line_size`, given explicitly below). */
const CSV_LINE_BYTES_MAX = 1_500_000;
const CSV_LINE_SIZE_LIMIT = 2_097_152;
/** A UTF-16 unit is at most 3 bytes of UTF-8: a line this short needs no counting. */
const CSV_LINE_UNITS_SURE = Math.floor(CSV_LINE_BYTES_MAX / 3);
/** read_csv expands these in a path (a glob, a leading `~`), Node's writeFile does not: such a scratch path goes by JSON instead. */
const EXPANDED = /[*?[\]{}]|^~/;

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** A quoted CSV field for `s`, or null when CSV would not bring it back exactly. */
function csvString(s: string): string | null {
  if (!isWellFormed(s)) return null;
  return `"${s.includes('"') ? s.replaceAll('"', '""') : s}"`;
}

/** Column values of a row in table order after the key: text as a string, int as a number, SQL NULL as null. */
function columnValues(spec: TableSpec, row: unknown): (string | number | null)[] {
  const values = row as Record<string, unknown>;
  const out: (string | number | null)[] = [];
  for (const column of spec.columns) {
    const value = values[column.name];
    // JSON columns carry their text exactly as JSON.stringify wrote it (so the row reads back with the same
    // checksum); only undefined is SQL NULL there, null is "null". A chunk list carries its stored text.
    if (column.kind === 'json') out.push(value === undefined ? null : JSON.stringify(value));
    else if (column.kind === 'chunks') out.push(value === undefined ? null : encodeChunkList(value as FileChunk[]));
    else if (value === null || value === undefined) out.push(null);
    else out.push(column.kind === 'int' ? (value as number) : String(value));
  }
  for (const column of spec.derived ?? []) out.push(column.value(row));
  return out;
}

/** The rows as CSV lines (key first), or null when some value cannot travel as CSV. */
function csvText(spec: TableSpec, rows: readonly (readonly [string, unknown])[]): string | null {
  const ints = sqlTypes(spec).map((type) => type === 'BIGINT');
  const lines: string[] = [];
  for (const [key, row] of rows) {
    let line = csvString(key);
    if (line === null) return null;
    const values = columnValues(spec, row);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      let field: string | null;
      if (value === null) field = '';
      else if (ints[i]) field = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : null;
      else field = typeof value === 'string' ? csvString(value) : null;
      if (field === null) return null;
      line += `,${field}`;
    }
    if (line.length > CSV_LINE_UNITS_SURE && Buffer.byteLength(line, 'utf8') > CSV_LINE_BYTES_MAX) return null;
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

const sqlTypes = (spec: TableSpec): string[] =>
  [...spec.columns.map((c) => (c.kind === 'int' ? 'BIGINT' : 'VARCHAR')), ...(spec.derived ?? []).map(() => 'BIGINT')];

/** One row for the JSON form: the key as `k`, column i as `c<i>`. */
function jsonRow(spec: TableSpec, key: string, row: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { k: key };
  columnValues(spec, row).forEach((value, i) => { out[`c${i}`] = value; });
  return out;
}

const jsonSql = new Map<string, string>();

/** INSERT of the rows in `$rows` (a JSON array of `jsonRow` objects). */
function insertFromJsonSql(spec: TableSpec): string {
  let sql = jsonSql.get(spec.name);
  if (sql === undefined) {
    const types = sqlTypes(spec);
    const structure = JSON.stringify([Object.fromEntries([['k', 'VARCHAR'], ...types.map((type, i) => [`c${i}`, type])])]);
    const columns = ['r.k', ...types.map((_, i) => `r.c${i}`)].join(', ');
    sql = `INSERT INTO ${spec.name} SELECT ${columns} FROM (SELECT unnest(from_json($rows, '${structure}')) AS r)`;
    jsonSql.set(spec.name, sql);
  }
  return sql;
}

/**
 * INSERT of the CSV file at `path`: every field typed up front (nothing sniffed), an
 * unquoted empty field is NULL and a quoted one the empty string, `"` doubled inside
 * quotes, one thread (a quoted newline must not split the file between readers).
 */
function insertFromCsvSql(spec: TableSpec, path: string): string {
  const columns = ["'k': 'VARCHAR'", ...sqlTypes(spec).map((type, i) => `'c${i}': '${type}'`)].join(', ');
  return `INSERT INTO ${spec.name} SELECT * FROM read_csv('${path.replaceAll("'", "''")}', columns = {${columns}}, header = false, `
    + `auto_detect = false, delim = ',', new_line = '\\n', quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, parallel = false, strict_mode = true, `
    + `max_line_size = ${CSV_LINE_SIZE_LIMIT})`;
}

/** Rows whose CSV text is built without a break: 2–4 ms of main-thread time for node rows (2.1–3.9 µs a row alone). */
export const CSV_SLICE_ROWS = 1_000;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `csvText` of every row, built `CSV_SLICE_ROWS` at a time with the event loop let through between slices (null: not by CSV). */
async function csvTextInSlices(spec: TableSpec, rows: readonly (readonly [string, unknown])[]): Promise<string | null> {
  const parts: string[] = [];
  for (let i = 0; i < rows.length; i += CSV_SLICE_ROWS) {
    if (i > 0) await nextTurn();
    const text = csvText(spec, rows.slice(i, i + CSV_SLICE_ROWS));
    if (text === null) return null;
    parts.push(text);
  }
  return parts.join('');
}

/** The JSON form of the INSERT, for a batch CSV cannot carry. */
function jsonStatement(spec: TableSpec, rows: readonly (readonly [string, unknown])[]): InsertStatement {
  return { sql: insertFromJsonSql(spec), values: { rows: JSON.stringify(rows.map(([key, row]) => jsonRow(spec, key, row))) }, csv: null };
}

/** The INSERT for `rows` of `spec`: through CSV at `csvPath` when every value can travel that way, else through JSON. */
export function insertStatement(spec: TableSpec, rows: readonly (readonly [string, unknown])[], csvPath: string): InsertStatement {
  const csv = EXPANDED.test(csvPath) ? null : csvText(spec, rows);
  return csv === null ? jsonStatement(spec, rows) : { sql: insertFromCsvSql(spec, csvPath), values: {}, csv };
}

/**
 * `insertStatement`, its CSV text built in slices with the event loop let through between
 * them, so a large batch does not hold up requests. Only for rows that stay as they are
 * meanwhile (`TableSpec.liveRows` not set). A batch that falls back to JSON (rare: see the
 * top of this file) is still built in one go.
 */
export async function insertStatementInSlices(spec: TableSpec, rows: readonly (readonly [string, unknown])[], csvPath: string): Promise<InsertStatement> {
  const csv = EXPANDED.test(csvPath) ? null : await csvTextInSlices(spec, rows);
  return csv === null ? jsonStatement(spec, rows) : { sql: insertFromCsvSql(spec, csvPath), values: {}, csv };
}
