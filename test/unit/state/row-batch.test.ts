// Rows reach DuckDB as CSV when every value survives the trip, else as JSON: either way
// DuckDB stores exactly the values the model holds (text, integers, NULLs, JSON text).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_SLICE_ROWS, insertStatement, insertStatementInSlices } from '../../../src/state/store/row-batch.js';
import { TABLES, type TableSpec, createTableSql } from '../../../src/state/store/tables.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-rows-'));
const csvPath = join(dir, "batch 'one'.csv"); // a quote in the path must not break the SQL
let connection: DuckDBConnection;
let closeDb: () => void;

beforeAll(async () => {
  const instance = await DuckDBInstance.create(join(dir, 'rows.duckdb'), { threads: '2' });
  connection = await instance.connect();
  closeDb = () => { connection.disconnectSync(); instance.closeSync(); };
});
afterAll(() => { closeDb(); rmSync(dir, { recursive: true, force: true }); });

/** Text, nullable text, an integer, a nullable integer, JSON, and a derived integer: every way a value travels. */
const SPEC = {
  name: 'probe',
  columns: [{ name: 'a', kind: 'text' }, { name: 'b', kind: 'text', nullable: true }, { name: 'n', kind: 'int' },
    { name: 'm', kind: 'int', nullable: true }, { name: 'j', kind: 'json' }],
  derived: [{ name: 'len', value: (row: unknown) => (row as { a: string }).a.length }],
  table: () => { throw new Error('not used'); },
} satisfies TableSpec;

interface Probe { a: string; b: string | null; n: number; m: number | null; j: unknown }

/** Strings CSV must quote, escape or keep apart, beside arbitrary ones. */
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', ' ', '\t', '\0', '\\', 'a', 'é', '\u{1F600}', '\uFEFF', '\u2028'), maxLength: 10 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('', 'NULL', 'null', '""', '\uFEFFstart'),
);
const probe = fc.record({
  // m = 2^60 is exact as a double and a BIGINT but not a safe integer: such a batch goes as JSON.
  a: text, b: fc.option(text, { nil: null }), n: fc.maxSafeInteger(), m: fc.option(fc.oneof(fc.integer(), fc.constant(2 ** 60)), { nil: null }),
  j: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })),
});

async function insert(rows: [string, Probe][]): Promise<'csv' | 'json'> {
  const statement = insertStatement(SPEC, rows, csvPath);
  if (statement.csv !== null) writeFileSync(csvPath, statement.csv);
  await connection.run(statement.sql, statement.values);
  return statement.csv === null ? 'json' : 'csv';
}

/** The stored rows, text read as JSON (@duckdb/node-api's own text results drop a leading byte-order mark that DuckDB holds). */
async function stored(): Promise<Map<string, unknown[]>> {
  const reader = await connection.runAndReadAll('SELECT to_json(k), to_json(a), to_json(b), n, m, to_json(j), len FROM probe');
  const value = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? JSON.parse(v) : v);
  return new Map(reader.getRows().map(([k, ...rest]) => [value(k) as string, rest.map(value)]));
}

const expected = (row: Probe): unknown[] =>
  [row.a, row.b, row.n, row.m, row.j === undefined ? null : JSON.stringify(row.j), row.a.length];

describe('row batches', () => {
  it('store every value exactly, by CSV or by JSON', async () => {
    await connection.run(createTableSql(SPEC));
    const ways = new Set<string>();
    await fc.assert(fc.asyncProperty(fc.uniqueArray(fc.tuple(text, probe), { selector: ([k]) => k, minLength: 1, maxLength: 20 }), async (rows) => {
      await connection.run('DELETE FROM probe');
      ways.add(await insert(rows));
      const got = await stored();
      expect(got.size).toBe(rows.length);
      for (const [key, row] of rows) expect(got.get(key)).toEqual(expected(row));
    }), { numRuns: 150 });
    expect([...ways].sort()).toEqual(['csv', 'json']); // both ways were taken
  });

  it('send by JSON a batch with a value CSV would not bring back: a lone surrogate, an integer that is not safe', () => {
    const row = (over: Partial<Probe>): [string, Probe] => ['k', { a: 'x', b: null, n: 1, m: null, j: null, ...over }];
    expect(insertStatement(SPEC, [row({})], csvPath).csv).not.toBeNull();
    for (const bad of [{ b: 'x\uD800' }, { a: '\uDC00' }, { n: 1.5 }, { m: 2 ** 60 }]) {
      expect(insertStatement(SPEC, [row({}), row(bad)], csvPath).csv).toBeNull();
    }
    expect(insertStatement(SPEC, [['\uD800k', row({})[1]]], csvPath).csv).toBeNull();
  });

  it('send a line too long for read_csv by JSON, counting its UTF-8 bytes, and store it whole either way', async () => {
    await connection.run('DELETE FROM probe');
    // 1.4 MB of ASCII in one line goes as CSV; two fields of ~1 MB of 3-byte characters (under 400,000 units each) do not.
    const long: [string, Probe] = ['long', { a: 'y'.repeat(1_400_000), b: null, n: 1, m: null, j: null }];
    const wide: [string, Probe] = ['wide', { a: '\u4e2d'.repeat(350_000), b: '\u6587'.repeat(350_000), n: 2, m: null, j: ['\u5b57'] }];
    expect(insertStatement(SPEC, [long], csvPath).csv).not.toBeNull();
    expect(insertStatement(SPEC, [wide], csvPath).csv).toBeNull();
    expect(await insert([long])).toBe('csv');
    expect(await insert([wide])).toBe('json');
    const got = await stored();
    expect(got.get('long')).toEqual(expected(long[1]));
    expect(got.get('wide')).toEqual(expected(wide[1]));
  });

  it('send by JSON when read_csv would expand the scratch path (a glob character, a leading ~)', () => {
    const row: [string, Probe] = ['k', { a: 'x', b: null, n: 1, m: null, j: null }];
    expect(insertStatement(SPEC, [row], '/data/a~b/db.rows.csv').csv).not.toBeNull();
    for (const path of ['/data/node[1]/db.rows.csv', '/data/*/db.rows.csv', '/data/a?/db.rows.csv', '/data/{a}/db.rows.csv', '~/db.rows.csv']) {
      expect(insertStatement(SPEC, [row], path).csv).toBeNull();
    }
  });

  it('build a batch of several slices with the event loop let through between them, all of it by JSON if one late row needs it', async () => {
    await connection.run('DELETE FROM probe');
    const count = CSV_SLICE_ROWS * 2 + 7;
    const rows = Array.from({ length: count }, (_, i): [string, Probe] => [`k${i}`, { a: `a,"${i}"`, b: i % 3 === 0 ? null : `b${i}`, n: i, m: null, j: { i } }]);
    const made = insertStatementInSlices(SPEC, rows, csvPath);
    let immediates = 0;
    setImmediate(() => { immediates++; });
    const statement = await made;
    expect(immediates).toBe(1); // a callback queued after the call ran before its text was whole
    expect(statement.csv?.split('\n').length).toBe(count + 1);
    expect(statement).toEqual(insertStatement(SPEC, rows, csvPath)); // the same text as built at once
    expect(await insert(rows)).toBe('csv');
    const got = await stored();
    expect(got.size).toBe(count);
    for (const [key, row] of rows) expect(got.get(key)).toEqual(expected(row));
    const late: [string, Probe][] = [...rows.slice(0, count - 1), ['last', { a: 'x\uD800', b: null, n: 1, m: null, j: null }]];
    expect((await insertStatementInSlices(SPEC, late, csvPath)).csv).toBeNull();
  });

  it('take the CSV way for the rows of a busy cluster (task rows)', () => {
    const tasks = TABLES.find((t) => t.name === 'tasks');
    if (tasks === undefined) throw new Error('no tasks table');
    const task = { id: 't1', kind: 'bench', payload: { n: 1 }, status: 'queued', priority: 1, required_capabilities: [], worker_id: null,
      lease_expires_at: null, attempts: 0, max_attempts: 3, result: null, error: null, created_at: 1, updated_at: 1 };
    const statement = insertStatement(tasks, [['t1', task]], csvPath);
    expect(statement.csv).toBe('"t1","t1","bench","{""n"":1}","queued",1,"[]",,,0,3,"null",,1,1\n');
  });
});
