// DuckDB persistence: the database always matches the model after a flush; a
// crash at any point plus log replay, and a snapshot install, reach the same state.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../../raft/core/types.js';
import { CoordinatorState, encodeCommand } from '../../../src/state/index.js';
import { SCHEMA_VERSION } from '../../../src/state/store/duck-store.js';
import { decodeChunkList } from '../../../src/state/store/chunk-list.js';
import type { Cmd } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function logOf(commands: Cmd[]): Entry[] {
  return commands.map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal', data: encodeCommand({ v: 1, ts: 1000 + i * 10, cmd }) }));
}

/** Chunk n's hash: the first four SHA-256-like (files of only those keep packed lists), later ones any string. */
const chunkHash = (n: number): string => (n < 4 ? n.toString(16).padStart(64, 'c') : `h${n}`);

function workload(): Cmd[] {
  const cmds: Cmd[] = [];
  for (const id of ['a', 'b', 'c', 'd']) cmds.push({ type: 'node.register', id, addresses: [`${id}:1`], storage_capacity: 10_000, capabilities: { v: '1' }, zone: id < 'c' ? 'z1' : 'z2' });
  for (let f = 0; f < 6; f++) cmds.push({ type: 'file.register', file_id: `f${f}`, name: `file-${f}`, size: 30, chunks: [{ hash: chunkHash(f), size: 10 }, { hash: chunkHash(f + 1), size: 10 }] });
  for (let t = 0; t < 5; t++) cmds.push({ type: 'task.submit', id: `t${t}`, kind: 'work', payload: { n: t }, priority: t % 2 });
  cmds.push({ type: 'task.claim', worker_id: 'w', lease_ms: 5 }, { type: 'replica.report', node_id: 'a', stored: [chunkHash(1), chunkHash(2)], lost: [] });
  cmds.push({ type: 'file.delete', file_id: 'f2' }, { type: 'maintenance.enable', reason: 'test' }, { type: 'sweep' });
  cmds.push({ type: 'node.heartbeat_batch', beats: [{ id: 'b', used_bytes: 5 }] }, { type: 'sweep' }, { type: 'maintenance.disable' });
  return cmds;
}

describe('coordinator state on DuckDB', () => {
  const log = logOf(workload());

  it('matches the model after every flush and reloads to the same checksum', async () => {
    const path = join(dir, 'a.duckdb');
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    for (let i = 0; i < log.length; i += 5) {
      await state.apply(log.slice(i, i + 5));
      const db = await state.checksumFromDatabase();
      expect(db.checksum).toBe(state.checksum().checksum);
      expect(db.modelChecksum).toBe(db.checksum);
      expect(db.storedChecksum).toBe(db.checksum);
      expect(db.flushedIndex).toBe(state.appliedIndex());
    }
    const final = state.checksum().checksum;
    await state.close();
    const reopened = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    expect(reopened.appliedIndex()).toBe(log.length);
    expect(reopened.checksum().checksum).toBe(final);
    expect(reopened.model.replicas.chunkCount).toBeGreaterThan(0); // derived indexes rebuilt
    await reopened.close();
  });

  it('records the chunk count with each flush, and a load takes it only as a bounded hint', async () => {
    const path = join(dir, 'hint.duckdb');
    const knownChunks = async (state: CoordinatorState) =>
      Number((await state.query("SELECT value FROM raft_meta WHERE key = 'known_chunks'"))[0]?.value);
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await state.apply(log);
    await state.flush();
    expect(await knownChunks(state)).toBe(state.model.replicas.knownChunks);
    expect(state.model.replicas.knownChunks).toBeGreaterThan(0);
    const checksum = state.checksum().checksum;
    // A damaged hint: a load must still reserve no more than the replica rows, and reach the same state.
    await state.query("UPDATE raft_meta SET value = 4000000000000 WHERE key = 'known_chunks'");
    await state.close();
    const reopened = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    expect(reopened.checksum().checksum).toBe(checksum);
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(2 ** 30);
    await reopened.close();
  });

  it('a flush writes the rows as they were when it took them, while apply goes on (a deleted file\'s slot reused meanwhile)', async () => {
    // Regression (review): a FileRecord lists its chunks from chunk-table slots; serialized only
    // after the flush's first await, a file deleted meanwhile was written with the chunk of the
    // file that reused its slot, and the stored checksum no longer matched the rows.
    const path = join(dir, 'race.duckdb');
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    const race = logOf([
      { type: 'node.register', id: 'n', addresses: ['n:1'], storage_capacity: 1_000_000, capabilities: {}, zone: 'z' },
      { type: 'file.register', file_id: 'f1', name: 'one', size: 10, chunks: [{ hash: a, size: 10 }] },
      { type: 'file.delete', file_id: 'f1' },
      { type: 'file.register', file_id: 'f2', name: 'two', size: 77, chunks: [{ hash: b, size: 77 }] },
    ]);
    await state.apply(race.slice(0, 2));
    const flushing = state.flush(); // takes f1's record now, writes after awaiting DuckDB
    await state.apply(race.slice(2));
    await flushing;
    const [f1] = await state.query("SELECT chunks FROM files WHERE id = 'f1'");
    expect(String(f1.chunks)).toBe(`#${a}|[10]`); // packed (see chunk-list.ts)
    expect(decodeChunkList(String(f1.chunks))).toEqual([{ hash: a, size: 10 }]);
    const db = await state.checksumFromDatabase();
    expect(db.checksum).toBe(db.storedChecksum);
    await state.close();
  });

  it('with forceSync, flushes every applied batch before apply() resolves', async () => {
    const dbIndex = async (state: CoordinatorState) =>
      Number((await state.query("SELECT value FROM raft_meta WHERE key = 'applied_index'"))[0]?.value ?? 0);
    const forced = await CoordinatorState.open({ dbPath: join(dir, 'forced.duckdb'), flushIntervalMs: 60_000, forceSync: true });
    const lazy = await CoordinatorState.open({ dbPath: join(dir, 'lazy.duckdb'), flushIntervalMs: 60_000 });
    for (let i = 0; i < log.length; i += 7) {
      await forced.apply(log.slice(i, i + 7));
      await lazy.apply(log.slice(i, i + 7));
      expect(forced.durableIndex()).toBe(forced.appliedIndex());
      expect(await dbIndex(forced)).toBe(forced.appliedIndex());
      expect(lazy.durableIndex()).toBe(0); // the control: only the 60 s timer or flushRowsMax would flush it
    }
    expect(forced.appliedIndex()).toBe(log.length);
    await forced.close();
    await lazy.close();
  });

  it('detects a database row that no longer matches the model', async () => {
    const state = await CoordinatorState.open({ dbPath: join(dir, 'corrupt.duckdb'), flushIntervalMs: 60_000 });
    await state.apply(log);
    const clean = await state.checksumFromDatabase();
    expect(clean.checksum).toBe(clean.modelChecksum);
    await state.query("UPDATE nodes SET used = used + 1 WHERE id = 'a'");
    const corrupt = await state.checksumFromDatabase();
    expect(corrupt.checksum).not.toBe(corrupt.modelChecksum);
    expect(corrupt.modelChecksum).toBe(clean.modelChecksum);
    await state.close();
  });

  it('a load takes the stored checksum; a row changed behind the model shows in checksumFromDatabase after the reload', async () => {
    const path = join(dir, 'trusted.duckdb');
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await state.apply(log);
    const checksum = state.checksum().checksum;
    const used = state.model.nodes.get('a')!.used;
    await state.flush();
    expect((await state.query(`SELECT count(*) AS n FROM raft_meta WHERE key LIKE 'checksum_%'`))[0].n).toBe(6n);
    await state.query("UPDATE nodes SET used = used + 1 WHERE id = 'a'");
    await state.close();
    const reopened = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    expect(reopened.checksum().checksum).toBe(checksum); // stored, not rehashed
    expect(reopened.model.nodes.get('a')?.used).toBe(used + 1); // the changed row was loaded as it is
    const db = await reopened.checksumFromDatabase();
    expect(db.storedChecksum).toBe(checksum);
    expect(db.modelChecksum).toBe(checksum);
    expect(db.checksum).not.toBe(checksum);
    await reopened.close();
  });

  /** A state at `name` that applied the workload and flushed it. */
  async function flushedState(name: string): Promise<{ path: string; state: CoordinatorState }> {
    const path = join(dir, name);
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await state.apply(log);
    await state.flush();
    return { path, state };
  }

  it('leaves no scratch CSV beside the database after a flush', async () => {
    const { path, state } = await flushedState('scratch.duckdb');
    expect(Number((await state.query('SELECT count(*) AS n FROM tasks'))[0].n)).toBeGreaterThan(0); // rows went through it
    expect(existsSync(`${path}.rows.csv`)).toBe(false);
    await state.close();
  });

  it('refuses to load a database whose stored checksums are missing', async () => {
    const { path, state } = await flushedState('no-checksum.duckdb');
    await state.query(`DELETE FROM raft_meta WHERE key = 'checksum_files'`);
    await state.close();
    await expect(CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 })).rejects.toThrow(/no stored checksum for table files/);
  });

  /** Version 4's layout: chunk lists as JSON, no replicas.hex_hash. Returns how many lists were packed. */
  async function toVersion4(state: CoordinatorState): Promise<number> {
    const rows = await state.query('SELECT k, chunks FROM files');
    for (const row of rows) {
      await state.query('UPDATE files SET chunks = $chunks WHERE k = $k', { k: String(row.k), chunks: JSON.stringify(decodeChunkList(String(row.chunks))) });
    }
    await state.query('ALTER TABLE replicas DROP COLUMN hex_hash');
    return rows.filter((r) => String(r.chunks).startsWith('#')).length;
  }

  /**
   * A database written by this version, turned back into an older layout by `downgrade`
   * and stamped with `version`, then reopened (which migrates it). Returns the reopened
   * state and the checksum before the round trip.
   */
  async function migratedFrom(version: number, downgrade: (state: CoordinatorState) => Promise<void>) {
    const path = join(dir, `v${version}.duckdb`);
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await state.apply(log);
    const checksum = state.checksum().checksum;
    await state.flush();
    if (version <= 4) await toVersion4(state);
    await downgrade(state);
    await state.query(`UPDATE raft_meta SET value = ${version} WHERE key = 'schema_version'`);
    await state.close();
    const reopened = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    expect(reopened.checksum().checksum).toBe(checksum);
    expect(await reopened.query("SELECT value FROM raft_meta WHERE key = 'schema_version'")).toEqual([{ value: BigInt(SCHEMA_VERSION) }]);
    const db = await reopened.checksumFromDatabase();
    expect(db.storedChecksum).toBe(checksum);
    expect(db.checksum).toBe(checksum);
    return { reopened, checksum };
  }

  it('migrates a version 1 database (primary keys on k, no node stats) to the current version without losing a row', async () => {
    const { reopened } = await migratedFrom(1, async (state) => {
      for (const table of ['nodes', 'files', 'replicas', 'tasks', 'meta', 'requests']) {
        await state.query(`CREATE TABLE ${table}_old AS SELECT * FROM ${table}`);
        await state.query(`DROP TABLE ${table}`);
        await state.query(`CREATE TABLE ${table} AS SELECT * FROM ${table}_old LIMIT 0`);
        await state.query(`ALTER TABLE ${table} ADD PRIMARY KEY (k)`);
        await state.query(`INSERT INTO ${table} SELECT * FROM ${table}_old`);
        await state.query(`DROP TABLE ${table}_old`);
      }
      await state.query('ALTER TABLE nodes DROP COLUMN stats');
      await state.query(`DELETE FROM raft_meta WHERE key LIKE 'checksum_%'`);
    });
    expect(await reopened.query("SELECT count(*) AS n FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND table_name = 'replicas'")).toEqual([{ n: 0n }]);
    await reopened.close();
  });

  it('migrates a version 2 database: nodes get stats (absent until a heartbeat carries some), checksum unchanged', async () => {
    const { reopened, checksum } = await migratedFrom(2, async (state) => {
      await state.query('ALTER TABLE nodes DROP COLUMN stats');
      await state.query(`DELETE FROM raft_meta WHERE key LIKE 'checksum_%'`);
    });
    expect([...reopened.model.nodes.values()].every((n) => n.stats === undefined)).toBe(true);
    expect((await reopened.checksumFromDatabase()).checksum).toBe(checksum);
    await reopened.close();
  });

  it('migrates a version 4 database (chunk lists as JSON, no hex_hash): flags the hex hashes, loads the JSON lists, packs lists it rewrites', async () => {
    const { state: packed } = await flushedState('packed.duckdb');
    expect(await toVersion4(packed)).toBeGreaterThan(0); // the workload has packed lists to turn back
    await packed.close();
    const { reopened, checksum } = await migratedFrom(4, () => Promise.resolve());
    const flags = await reopened.query('SELECT chunk_hash, hex_hash FROM replicas');
    expect(flags.length).toBeGreaterThan(0);
    for (const { chunk_hash: hash, hex_hash: flag } of flags) expect(flag).toBe(/^[0-9a-f]{64}$/.test(String(hash)) ? 1n : 0n);
    expect(flags.some((r) => r.hex_hash === 1n)).toBe(true);
    expect((await reopened.query(`SELECT count(*) AS n FROM files WHERE starts_with(chunks, '#')`))[0].n).toBe(0n);
    // A file registered now is written packed, and the stored checksum still matches the rows.
    const next = reopened.durableIndex() + 1;
    await reopened.apply([{ index: next, term: 1, type: 'normal', data: encodeCommand({ v: 1, ts: 5_000, cmd: {
      type: 'file.register', file_id: 'new', name: 'new', size: 10, chunks: [{ hash: 'e'.repeat(64), size: 10 }] } }) }]);
    await reopened.flush();
    expect(await reopened.query(`SELECT chunks FROM files WHERE k = 'new'`)).toEqual([{ chunks: `#${'e'.repeat(64)}|[10]` }]);
    const db = await reopened.checksumFromDatabase();
    expect(db.checksum).toBe(db.storedChecksum);
    expect(db.checksum).not.toBe(checksum);
    await reopened.close();
  });

  it('refuses to load a packed chunk list whose hashes do not fit its sizes, with a clear error', async () => {
    const { path, state } = await flushedState('damaged-list.duckdb');
    const [row] = await state.query(`SELECT k, chunks FROM files WHERE starts_with(chunks, '#') LIMIT 1`);
    const text = String(row.chunks);
    await state.query('UPDATE files SET chunks = $chunks WHERE k = $k', { k: String(row.k), chunks: text.slice(0, 10) + text.slice(11) });
    await state.close();
    await expect(CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 })).rejects.toThrow(/damaged packed chunk list/);
  });

  it('migrates a version 5 database: its checksums, of the older row hash, are made again from the rows', async () => {
    // Stand-ins for SHA-256-based checksums: stored values that today's row hash does not give.
    const { reopened, checksum } = await migratedFrom(5, (state) => state.query(`UPDATE raft_meta SET value = value + 1 WHERE key LIKE 'checksum_%'`).then(() => undefined));
    expect(checksum).not.toBe('0000000000000000');
    await reopened.close();
  });

  it('migrates a version 3 database: the checksums of its rows are stored, and a load takes them', async () => {
    const { reopened, checksum } = await migratedFrom(3, (state) => state.query(`DELETE FROM raft_meta WHERE key LIKE 'checksum_%'`).then(() => undefined));
    expect((await reopened.query(`SELECT count(*) AS n FROM raft_meta WHERE key LIKE 'checksum_%'`))[0].n).toBe(6n);
    expect(checksum).not.toBe('0000000000000000');
    await reopened.close();
  });

  it('a crash after any flush, then replay from durableIndex + 1, reaches the uninterrupted state', async () => {
    const reference = await CoordinatorState.open({ dbPath: join(dir, 'ref.duckdb'), flushIntervalMs: 60_000 });
    await reference.apply(log);
    const expected = reference.checksum().checksum;
    await reference.close();
    for (const cut of [0, 3, 11, log.length - 1]) {
      const path = join(dir, `crash-${cut}.duckdb`);
      const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
      await state.apply(log.slice(0, cut));
      await state.flush();
      await state.apply(log.slice(cut, cut + 2)); // applied but never flushed: lost in the crash
      // The crash: copy what is on disk (database + its WAL) and open the copy.
      const copy = join(dir, `crash-${cut}-copy.duckdb`);
      copyFileSync(path, copy);
      if (existsSync(`${path}.wal`)) copyFileSync(`${path}.wal`, `${copy}.wal`);
      const recovered = await CoordinatorState.open({ dbPath: copy, flushIntervalMs: 60_000 });
      expect(recovered.durableIndex()).toBe(cut);
      await recovered.apply(log.slice(recovered.durableIndex()));
      expect(recovered.checksum().checksum).toBe(expected);
      await recovered.close();
      await state.close();
    }
  });

  it('a snapshot installed on another replica reproduces the state', async () => {
    const source = await CoordinatorState.open({ dbPath: join(dir, 'src.duckdb'), flushIntervalMs: 60_000 });
    await source.apply(log);
    const snapshot = await source.createSnapshot(join(dir, 'snap.duckdb'));
    expect(snapshot.index).toBe(log.length);
    const target = await CoordinatorState.open({ dbPath: join(dir, 'dst.duckdb'), flushIntervalMs: 60_000 });
    await target.apply(log.slice(0, 4));
    const replaced = new WeakRef(target.model);
    await target.restoreSnapshot(snapshot.path, snapshot.index);
    expect(target.appliedIndex()).toBe(log.length);
    // The install ends with a collection: the model it replaced is already gone.
    expect(replaced.deref()).toBeUndefined();
    expect(target.checksum().checksum).toBe(source.checksum().checksum);
    const rows = await target.query("SELECT status, count(*) AS n FROM tasks GROUP BY status ORDER BY status");
    expect(rows.length).toBeGreaterThan(0);
    await source.close();
    await target.close();
  });

  it('refuses a snapshot file whose applied index is not the one asked for', async () => {
    const source = await CoordinatorState.open({ dbPath: join(dir, 'src2.duckdb'), flushIntervalMs: 60_000 });
    await source.apply(log);
    const snapshot = await source.createSnapshot(join(dir, 'snap2.duckdb'));
    await source.close();
    const target = await CoordinatorState.open({ dbPath: join(dir, 'dst2.duckdb'), flushIntervalMs: 60_000 });
    await expect(target.restoreSnapshot(snapshot.path, snapshot.index + 1))
      .rejects.toThrow(`snapshot file holds applied index ${snapshot.index}, expected ${snapshot.index + 1}`);
  });
  it('records a checksum checkpoint every checksumInterval applied entries, each the model\'s checksum there; keeps the last 16', async () => {
    const every5 = await CoordinatorState.open({ dbPath: join(dir, 'cp5.duckdb'), flushIntervalMs: 60_000, checksumInterval: 5 });
    const every1 = await CoordinatorState.open({ dbPath: join(dir, 'cp1.duckdb'), flushIntervalMs: 60_000, checksumInterval: 1 });
    const expected: { index: number; checksum: string }[] = [];
    for (const entry of log) {
      await every5.apply([entry]);
      await every1.apply([entry]);
      expected.push({ index: entry.index, checksum: every5.checksum().checksum });
    }
    expect(every5.checkpoints).toEqual(expected.filter((c) => c.index % 5 === 0));
    expect(log.length).toBeGreaterThan(16);
    expect(every1.checkpoints).toEqual(expected.slice(-16));
    await every5.close();
    await every1.close();
  });

  it('flushes by itself once flushRowsMax rows have changed, before apply() resolves', async () => {
    const state = await CoordinatorState.open({ dbPath: join(dir, 'rows.duckdb'), flushIntervalMs: 60_000, flushRowsMax: 10 });
    await state.apply(log.slice(0, 2)); // two node rows: below the bound
    expect(state.durableIndex()).toBe(0);
    await state.apply(log.slice(2)); // many more
    expect(state.durableIndex()).toBe(log.length);
    const db = await state.checksumFromDatabase();
    expect(db.checksum).toBe(state.checksum().checksum);
    await state.close();
  });

  it('a flush asked for while a snapshot install runs waits for it (it never meets the closed database)', async () => {
    const source = await CoordinatorState.open({ dbPath: join(dir, 'src3.duckdb'), flushIntervalMs: 60_000 });
    await source.apply(log);
    const snapshot = await source.createSnapshot(join(dir, 'snap3.duckdb'));
    const target = await CoordinatorState.open({ dbPath: join(dir, 'dst3.duckdb'), flushIntervalMs: 60_000 });
    await target.apply(log.slice(0, 6)); // unflushed rows: a flush would have work to write
    await Promise.all([target.restoreSnapshot(snapshot.path, snapshot.index), target.flush()]);
    expect(target.durableIndex()).toBe(log.length);
    expect(target.checksum().checksum).toBe(source.checksum().checksum);
    expect((await target.checksumFromDatabase()).checksum).toBe(source.checksum().checksum);
    await source.close();
    await target.close();
  });

  it('refuses a database whose schema version is newer than this program\'s', async () => {
    const path = join(dir, 'newer.duckdb');
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await state.apply(log.slice(0, 3));
    await state.close();
    const bump = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    await bump.query(`UPDATE raft_meta SET value = ${SCHEMA_VERSION + 1} WHERE key = 'schema_version'`);
    await bump.close();
    await expect(CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 }))
      .rejects.toThrow(`database schema version ${SCHEMA_VERSION + 1} is newer than this program (${SCHEMA_VERSION})`);
  });
});
