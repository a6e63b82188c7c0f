// A model loaded from DuckDB (start-up, snapshot install) holds exactly the rows of the
// model that flushed them: every table's rows, the chunk table's holders and pending
// bytes, and checksums that equal a fresh hash of the loaded rows; and it goes on to
// give the same results and checksums as the model that never stopped.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../../raft/core/types.js';
import { CoordinatorState, encodeCommand, type Model } from '../../../src/state/index.js';
import type { Cmd } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Names and payloads that JSON and SQL must carry unchanged: quotes, backslashes, control
// characters, non-ASCII, text that looks like JSON or SQL.
const text = fc.constantFrom('plain', 'a"b', 'back\\slash', 'ctl\u0001\u001f', 'new\nline', 'é漢😀', "it's", '[1,{"x":null}]', 'null');
const node = fc.constantFrom('a', 'b', 'c', 'node "d"');
const hash = fc.constantFrom('h1', 'h2', 'h3', 'h\\4', 'h"5', '0f'.repeat(32), 'F0'.repeat(32));
const command: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ id: node, cap: fc.integer({ min: 10, max: 1000 }), zone: fc.option(text, { nil: undefined }) })
    .map(({ id, cap, zone }): Cmd => ({ type: 'node.register', id, addresses: [`${id}:1`], storage_capacity: cap, capabilities: { v: '1' }, ...(zone === undefined ? {} : { zone }) })),
  fc.record({ id: node, used: fc.nat(100), stats: fc.option(fc.dictionary(text, fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), text, fc.boolean()), { maxKeys: 3 }), { nil: undefined }) })
    .map(({ id, used, stats }): Cmd => ({ type: 'node.heartbeat_batch', beats: [{ id, used_bytes: used, ...(stats === undefined ? {} : { stats }) }] })),
  node.map((id): Cmd => ({ type: 'node.unregister', id })),
  fc.constant<Cmd>({ type: 'sweep' }),
  fc.record({ f: fc.constantFrom('f1', 'f2', 'f3'), name: text, chunks: fc.uniqueArray(hash, { minLength: 1, maxLength: 3 }), rf: fc.integer({ min: 1, max: 3 }), chunkSize: fc.option(fc.nat(10), { nil: undefined }) })
    .map(({ f, name, chunks, rf, chunkSize }): Cmd => ({ type: 'file.register', file_id: f, name: `${f}/${name}`, size: 10, replication_factor: rf,
      ...(chunkSize === undefined ? {} : { chunk_size: chunkSize }), chunks: chunks.map((h) => ({ hash: h, size: 5 })) })),
  fc.constantFrom('f1', 'f2', 'f3').map((f): Cmd => ({ type: 'file.delete', file_id: f })),
  fc.record({ n: node, stored: fc.array(hash, { maxLength: 2 }), lost: fc.array(hash, { maxLength: 2 }) })
    .map(({ n, stored, lost }): Cmd => ({ type: 'replica.report', node_id: n, stored, lost })),
  fc.record({ id: fc.constantFrom('t1', 't2', 't3'), payload: fc.jsonValue({ maxDepth: 2 }), caps: fc.subarray(['gpu', 'ssd']) })
    .map(({ id, payload, caps }): Cmd => ({ type: 'task.submit', id, kind: 'k', payload, priority: 0, required_capabilities: caps })),
  node.map((w): Cmd => ({ type: 'task.claim', worker_id: w, lease_ms: 50, capabilities: ['gpu', 'ssd'] })),
  fc.record({ id: fc.constantFrom('t1', 't2', 't3'), w: node, result: fc.jsonValue({ maxDepth: 1 }) })
    .map(({ id, w, result }): Cmd => ({ type: 'task.complete', id, worker_id: w, result })),
  fc.record({ id: fc.constantFrom('t1', 't2', 't3'), w: node, error: text }).map(({ id, w, error }): Cmd => ({ type: 'task.fail', id, worker_id: w, error })),
  fc.record({ on: fc.boolean(), reason: fc.option(text, { nil: undefined }) })
    .map(({ on, reason }): Cmd => (on ? { type: 'maintenance.enable', ...(reason === undefined ? {} : { reason }) } : { type: 'maintenance.disable' })),
);

const limits = { nodeTimeoutMs: 100, nodeInactiveAfterMs: 200, replicationFactor: 2, taskMaxAttempts: 2, idempotencyRetentionMs: 1000 };

/** Everything a load must reproduce, in a canonical order. */
function contents(model: Model) {
  const sorted = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hashes = [...model.replicas.hashes()].sort();
  return {
    // Files as JSON: a FileRecord's chunks are not an own property, which toEqual would not compare.
    nodes: sorted(model.nodes.entries()), files: sorted(model.files.entries()).map(([k, row]) => [k, JSON.parse(JSON.stringify(row)) as unknown]),
    replicas: sorted(model.replicas.entries()),
    tasks: sorted(model.tasks.entries()), meta: sorted(model.meta.entries()), requests: sorted(model.requests.entries()),
    chunks: hashes.map((h) => ({ h, size: model.replicas.sizeOf(h), files: [...model.replicas.filesOf(h)].sort(), holders: model.replicasOf(h) })),
    pending: [...model.nodes.values()].map((n) => n.id).sort().map((id) => [id, model.pendingBytes(id)]),
    replicaCount: model.replicas.size, chunkCount: model.replicas.chunkCount,
  };
}

/** Always run: pending and stored replicas on several nodes, a shared and a dropped chunk, stats, null columns. */
const example: { cmd: Cmd; key?: string }[] = [
  ...['a', 'b', 'c'].map((id, i): { cmd: Cmd } => ({ cmd: { type: 'node.register', id, addresses: [`${id}:1`], storage_capacity: 1000 - i, capabilities: {} } })),
  { cmd: { type: 'file.register', file_id: 'f1', name: 'f1/a"b', size: 10, replication_factor: 2, chunks: [{ hash: 'h1', size: 5 }, { hash: 'h\\4', size: 5 }] } },
  { cmd: { type: 'file.register', file_id: 'f2', name: 'f2/é漢😀', size: 10, replication_factor: 3, chunk_size: 7, chunks: [{ hash: 'h1', size: 5 }, { hash: 'h2', size: 5 }] } },
  { cmd: { type: 'replica.report', node_id: 'a', stored: ['h1', 'h2'], lost: [] } },
  { cmd: { type: 'node.heartbeat_batch', beats: [{ id: 'b', used_bytes: 3, stats: { temp: 40.5, disk: 'sda', ok: true } }] }, key: 'k1' },
  { cmd: { type: 'file.delete', file_id: 'f1' } },
  { cmd: { type: 'task.submit', id: 't1', kind: 'k', payload: { n: [1, null, 'x'] }, priority: 0, required_capabilities: ['gpu'] } },
];

describe('loading the model from DuckDB', () => {
  it('reproduces every row and derived structure, with checksums that equal a fresh hash of the loaded rows', async () => {
    let run = 0;
    const step = fc.record({ cmd: command, key: fc.option(fc.constantFrom('k1', 'k2'), { freq: 4, nil: undefined }) });
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 60 }), fc.nat(), async (steps, cutSeed) => {
      const entries: Entry[] = steps.map(({ cmd, key }, i) => ({ index: i + 1, term: 1, type: 'normal',
        data: encodeCommand({ v: 1, ts: 1000 + i * 40, cmd, ...(key === undefined ? {} : { idempotency_key: key }) }) }));
      const cut = cutSeed % (entries.length + 1);
      const path = join(dir, `l${run++}.duckdb`);
      const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000, limits });
      await live.apply(entries.slice(0, cut));
      await live.flush();
      const loaded = await CoordinatorState.open({ dbPath: `${path}.copy`, flushIntervalMs: 60_000, limits });
      try {
        const snapshot = await live.createSnapshot(`${path}.snap`);
        await loaded.restoreSnapshot(snapshot.path, snapshot.index);
        expect(contents(loaded.model)).toEqual(contents(live.model));
        expect(loaded.checksum()).toEqual(live.checksum());
        const m = loaded.model;
        for (const table of [m.nodes, m.files, m.replicas, m.tasks, m.meta, m.requests]) expect(table.rowsChecksum(), table.name).toBe(table.checksum);
        for (const entry of entries.slice(cut)) {
          expect(await loaded.apply([entry])).toEqual(await live.apply([entry]));
          expect(loaded.checksum()).toEqual(live.checksum());
        }
      } finally {
        await live.close();
        await loaded.close();
      }
    }), { numRuns: 40, examples: [[example, 1_000_000]] });
  });
});

describe('memory after a load', () => {
  it('DuckDB keeps no table blocks from the bulk reads, and its memory limit is the configured one', async () => {
    const path = join(dir, 'memory.duckdb');
    const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await live.apply(Array.from({ length: 2_000 }, (_, i) => ({ index: i + 1, term: 1, type: 'normal' as const,
      data: encodeCommand({ v: 1, ts: 1000, cmd: { type: 'task.submit', id: `t${i}`, kind: 'k', payload: { i, blob: `${i}`.repeat(1_000) } } }) })));
    await live.close();
    const tableBytes = async (state: CoordinatorState) =>
      Number((await state.query(`SELECT coalesce(sum(memory_usage_bytes), 0) AS n FROM duckdb_memory() WHERE tag = 'BASE_TABLE'`))[0].n);
    const loaded = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000, memoryLimitMb: 64 });
    try {
      expect(loaded.model.tasks.size).toBe(2_000);
      expect(await tableBytes(loaded)).toBeLessThanOrEqual(512 * 1024); // raft_meta, read after the release
      expect(await loaded.query(`SELECT current_setting('memory_limit') AS v`)).toEqual([{ v: '61.0 MiB' }]); // 64 MB
      await loaded.query('SELECT max(payload) FROM tasks');
      expect(await tableBytes(loaded)).toBeGreaterThan(2 * 2 ** 20); // the control: a scan keeps the table's blocks
    } finally {
      await loaded.close();
    }
  });
});

describe('bulk reads in blocks', () => {
  it('reproduces replicas and files that span many blocks: hashes as bytes and as text, shared chunks, sizes past 2^32', async () => {
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const cmds: Cmd[] = Array.from({ length: 20 }, (_, i): Cmd => ({ type: 'node.register', id: `n${i}`, addresses: [`n${i}:1`], storage_capacity: 1e15, capabilities: {} }));
    let next = 0;
    // 7,000 files: more rows than the first block of files (4,096 row ids); every fourth keeps a packed list.
    for (let f = 0; f < 7_000; f++) {
      const chunks = Array.from({ length: 2 }, () => {
        const k = next++;
        // Upper-case hex and other strings stay text; shared lower-case ones are held by several files.
        const hash = f % 4 !== 0 && k % 7 === 0 ? sha(`x${k}`).toUpperCase() : f % 4 !== 0 && k % 11 === 0 ? `other-${k}` : sha(`x${k % 3000}`);
        return { hash, size: k % 13 === 0 ? 2 ** 40 + k : 1000 + (k % 3000) };
      });
      cmds.push({ type: 'file.register', file_id: `f${f}`, name: `file ${f}`, size: 1, replication_factor: 1 + (f % 4), chunks });
    }
    for (let f = 0; f < 7_000; f += 5) cmds.push({ type: 'file.delete', file_id: `f${f}` });
    cmds.push({ type: 'file.register', file_id: 'empty', name: 'empty', size: 0, chunks: [] });
    for (let i = 0; i < 20; i++) cmds.push({ type: 'replica.report', node_id: `n${i}`, stored: Array.from({ length: 500 }, (_, j) => sha(`x${(i * 97 + j) % 3000}`)), lost: [] });
    cmds.push({ type: 'sweep' });
    const path = join(dir, 'blocks.duckdb');
    const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    const loaded = await CoordinatorState.open({ dbPath: `${path}.copy`, flushIntervalMs: 60_000 });
    try {
      await live.apply(cmds.map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000 + i, cmd }) })));
      await live.flush();
      // The data spans blocks: replica rows past the first block (4,096 row ids), chunks with replicas on both sides of it.
      expect(live.model.replicas.size).toBeGreaterThan(10_000);
      const [{ n }] = await live.query('SELECT count(*) AS n FROM (SELECT chunk_hash FROM replicas GROUP BY 1 HAVING min(rowid) < 4096 AND max(rowid) >= 4096)');
      expect(Number(n)).toBeGreaterThan(0);
      const [files] = await live.query(`SELECT count(*) FILTER (WHERE starts_with(chunks, '#')) AS packed, max(rowid) AS last FROM files`);
      expect(files.packed).toBeGreaterThan(0n);
      expect(files.last).toBeGreaterThan(4096n);
      const snapshot = await live.createSnapshot(`${path}.snap`);
      await loaded.restoreSnapshot(snapshot.path, snapshot.index);
      expect(contents(loaded.model)).toEqual(contents(live.model));
      const m = loaded.model;
      for (const table of [m.nodes, m.files, m.replicas, m.tasks, m.meta, m.requests]) expect(table.rowsChecksum(), table.name).toBe(table.checksum);
      expect(m.replicas.knownChunks).toBe(live.model.replicas.knownChunks);
    } finally {
      await live.close();
      await loaded.close();
    }
  });

  it('refuses a packed chunk list whose sizes are not one array of sizes, with a clear error', async () => {
    const hash = 'cd'.repeat(32);
    const damaged = [
      { chunks: `#${hash}|[7],64,"f9",null,"n9",1,null,1,0,[]`, error: /sizes are not one JSON array/ }, // would add a row
      { chunks: `#${hash}${hash}|[10,null]`, error: /damaged packed chunk list in files: the sizes of f/ },
      { chunks: `#${hash}|["7"]`, error: /damaged packed chunk list in files: the sizes of f/ },
      { chunks: `#${hash}`, error: /sizes are not one JSON array/ },
    ];
    for (const [n, { chunks, error }] of damaged.entries()) {
      const path = join(dir, `sizes-${n}.duckdb`);
      const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
      await live.apply([
        { type: 'node.register', id: 'a', addresses: ['a:1'], storage_capacity: 1e9, capabilities: {} },
        { type: 'file.register', file_id: 'f', name: 'f', size: 1, chunks: [{ hash, size: 7 }] },
      ].map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd: cmd as Cmd }) })));
      await live.flush();
      expect((await live.query('SELECT chunks FROM files'))[0].chunks).toBe(`#${hash}|[7]`);
      await live.query('UPDATE files SET chunks = $chunks', { chunks });
      await live.close();
      await expect(CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 }), chunks).rejects.toThrow(error);
    }
  });

  it('loads a replica flagged hex whose hash is not 64 digits as the text it is (and the database checksum shows the change)', async () => {
    const path = join(dir, 'long-hash.duckdb');
    const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    const hash = 'ef'.repeat(32);
    await live.apply([
      { type: 'node.register', id: 'a', addresses: ['a:1'], storage_capacity: 1e9, capabilities: {} },
      { type: 'file.register', file_id: 'f', name: 'f', size: 2, replication_factor: 1, chunks: [{ hash, size: 1 }, { hash: 'ab'.repeat(32), size: 1 }] },
      { type: 'replica.report', node_id: 'a', stored: [hash, 'ab'.repeat(32)], lost: [] },
    ].map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd: cmd as Cmd }) })));
    await live.flush();
    for (const tail of ['01020304', '']) { // 72 digits; then 63 (unhex would shift every later hash half a byte)
      await live.query(`UPDATE replicas SET chunk_hash = ${tail === '' ? `substr(chunk_hash, 2)` : `chunk_hash || '${tail}'`} WHERE starts_with(chunk_hash, 'ef')`);
      const copy = `${path}.${tail.length}`;
      await live.createSnapshot(copy);
      const loaded = await CoordinatorState.open({ dbPath: copy, flushIntervalMs: 60_000 });
      try {
        const [stored] = await loaded.query(`SELECT chunk_hash FROM replicas WHERE starts_with(chunk_hash, 'ef') OR starts_with(chunk_hash, 'fe')`);
        expect(loaded.model.replicasOf(String(stored.chunk_hash)).map((r) => r.node_id)).toEqual(['a']);
        expect(loaded.model.replicasOf('ab'.repeat(32)).map((r) => r.node_id)).toEqual(['a']); // the other chunk intact
        const db = await loaded.checksumFromDatabase();
        expect(db.checksum).not.toBe(db.storedChecksum);
      } finally {
        await loaded.close();
      }
    }
    await live.close();
  });

  it('refuses a chunk whose size in replicas disagrees with its file\'s, whichever loads first', async () => {
    const path = join(dir, 'sizes-disagree.duckdb');
    const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await live.apply([
      { type: 'node.register', id: 'a', addresses: ['a:1'], storage_capacity: 1e9, capabilities: {} },
      { type: 'file.register', file_id: 'f', name: 'f', size: 14, replication_factor: 1, chunks: [{ hash: 'ab'.repeat(32), size: 7 }, { hash: 'h-raw', size: 7 }] },
    ].map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd: cmd as Cmd }) })));
    await live.flush();
    for (const hash of ['ab'.repeat(32), 'h-raw']) { // a chunk loaded as bytes, one loaded as text
      await live.query('UPDATE replicas SET size = CASE WHEN chunk_hash = $hash THEN 8 ELSE 7 END', { hash });
      const copy = `${path}.${hash.length}`;
      await live.createSnapshot(copy);
      await expect(CoordinatorState.open({ dbPath: copy, flushIntervalMs: 60_000 }), hash).rejects.toThrow(/damaged database: chunk .* has size (8 in one row, 7|7 in one row, 8) in another/);
    }
    await live.close();
  });

  it('refuses damaged rows whose text would load as something else: sizes that disagree within a block, an unknown replica state, a chunk list or JSON column that is not one JSON value', async () => {
    const damage = [
      { sql: `UPDATE replicas SET size = 9 WHERE node_id = 'b' AND chunk_hash = '${'ab'.repeat(32)}'`, error: /damaged database: chunk (ab)+ has size (7 in one row, 9|9 in one row, 7) in another/ },
      { sql: `UPDATE replicas SET size = 9 WHERE node_id = 'b' AND chunk_hash = 'h-raw'`, error: /damaged database: chunk h-raw has size/ },
      { sql: `UPDATE replicas SET state = 'bogus' WHERE node_id = 'b' AND chunk_hash = '${'ab'.repeat(32)}'`, error: /a state that is neither stored nor pending/ },
      { sql: `UPDATE files SET chunks = '[],null,"k2",1' WHERE k = 'g'`, error: /damaged JSON in files.chunks/ },
      { sql: `UPDATE nodes SET addresses = '["a:1"],"zone":"x"' WHERE k = 'a'`, error: /damaged JSON in nodes.addresses/ },
    ];
    for (const [n, { sql, error }] of damage.entries()) {
      const path = join(dir, `damaged-${n}.duckdb`);
      const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
      await live.apply([
        { type: 'node.register', id: 'a', addresses: ['a:1'], storage_capacity: 1e9, capabilities: {} },
        { type: 'node.register', id: 'b', addresses: ['b:1'], storage_capacity: 1e9, capabilities: {} },
        { type: 'file.register', file_id: 'f', name: 'f', size: 7, replication_factor: 2, chunks: [{ hash: 'ab'.repeat(32), size: 7 }] },
        { type: 'file.register', file_id: 'g', name: 'g', size: 7, replication_factor: 2, chunks: [{ hash: 'h-raw', size: 7 }] },
      ].map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd: cmd as Cmd }) })));
      await live.flush();
      expect((await live.query(sql.replace(/^UPDATE (\w+) SET .* WHERE/, 'SELECT count(*) AS n FROM $1 WHERE')))[0].n, sql).toBe(1n);
      await live.query(sql);
      await live.close();
      await expect(CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 }), sql).rejects.toThrow(error);
    }
  });

  it('loads a chunk whose replicas disagree on the hex flag with every holder, and goes back to two DuckDB threads after a load', async () => {
    const path = join(dir, 'flag-split.duckdb');
    const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await live.apply([
      { type: 'node.register', id: 'a', addresses: ['a:1'], storage_capacity: 1e9, capabilities: {} },
      { type: 'node.register', id: 'b', addresses: ['b:1'], storage_capacity: 1e9, capabilities: {} },
      { type: 'file.register', file_id: 'f', name: 'f', size: 7, replication_factor: 2, chunks: [{ hash: 'ab'.repeat(32), size: 7 }] },
    ].map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd: cmd as Cmd }) })));
    await live.flush();
    const checksum = live.checksum().checksum;
    await live.query(`UPDATE replicas SET hex_hash = 0 WHERE node_id = 'b'`);
    await live.close();
    const loaded = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    try {
      expect(loaded.model.replicasOf('ab'.repeat(32)).map((r) => r.node_id)).toEqual(['a', 'b']);
      expect(loaded.model.replicas.rowsChecksum()).toBe(loaded.model.replicas.checksum);
      expect(loaded.checksum().checksum).toBe(checksum);
      expect((await loaded.query(`SELECT current_setting('threads') AS threads`))[0].threads).toBe(2n);
    } finally {
      await loaded.close();
    }
  });

  it('refuses chunk hashes stored as hex that are not lower case (the bytes would load as another hash)', async () => {
    for (const table of ['files', 'replicas'] as const) {
      const path = join(dir, `upper-${table}.duckdb`);
      const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
      await live.apply([
        { type: 'node.register', id: 'a', addresses: ['a:1'], storage_capacity: 1e9, capabilities: {} },
        { type: 'file.register', file_id: 'f', name: 'f', size: 1, chunks: [{ hash: 'ab'.repeat(32), size: 1 }] },
      ].map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd: cmd as Cmd }) })));
      await live.flush();
      await live.query(table === 'files' ? `UPDATE files SET chunks = upper(chunks)` : `UPDATE replicas SET chunk_hash = upper(chunk_hash)`);
      await live.close();
      await expect(CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 }), table).rejects.toThrow(/not lowercase hex/);
    }
  });


  it('loads a table of more row ids than one block, with rows too large for DuckDB to build one block at its memory limit', async () => {
    const path = join(dir, 'big.duckdb');
    const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    const payload = { blob: 'x'.repeat(8_000) };
    const cmds: Cmd[] = [
      ...Array.from({ length: 5_000 }, (_, i): Cmd => ({ type: 'node.register', id: `n${i}`, addresses: [`h${i}:1`], storage_capacity: 100, capabilities: {} })),
      ...Array.from({ length: 4_000 }, (_, i): Cmd => ({ type: 'task.submit', id: `t${i}`, kind: 'k', payload: { ...payload, i }, priority: 0 })),
    ];
    for (let i = 0; i < cmds.length; i += 1000) {
      await live.apply(cmds.slice(i, i + 1000).map((cmd, j) => ({ index: i + j + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd }) })));
    }
    await live.flush();
    const loaded = await CoordinatorState.open({ dbPath: `${path}.copy`, flushIntervalMs: 60_000, memoryLimitMb: 16 });
    try {
      const snapshot = await live.createSnapshot(`${path}.snap`);
      await loaded.restoreSnapshot(snapshot.path, snapshot.index);
      expect(loaded.model.nodes.size).toBe(5_000);
      expect(loaded.model.tasks.size).toBe(4_000);
      expect(contents(loaded.model)).toEqual(contents(live.model));
      expect(loaded.model.tasks.rowsChecksum()).toBe(live.model.tasks.checksum);
      // The control: the tasks as one text (32 MB) do not fit in the loader's 16 MB.
      await expect(loaded.query("SELECT length(string_agg(payload, ',')) FROM tasks")).rejects.toThrow(/Out of Memory/);
    } finally {
      await live.close();
      await loaded.close();
    }
  });
});
