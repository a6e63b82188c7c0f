// Flush safety. A flush whose DuckDB write fails took its changes from the model but
// committed nothing: no later flush may commit, or its applied_index would cover the lost
// rows and a restart would never replay them. Every flush fails from then on; a restart
// loads the last committed state, and replaying the log from there reaches the model's.
// On a node the failure is fatal (it exits so a supervisor restarts it); until it is gone,
// reads that flush answer CONCORD_ERR_STORAGE_IO and /live says why. Reads run on their
// own connection, never inside a flush's transaction; a snapshot install closes the store
// only once the reads running on it are done, and one that fails fails later reads too.
// Failures and pauses are injected through DuckDB's prototypes (this file only:
// vitest runs each test file in its own process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../../raft/core/types.js';
import { CoordinatorState, encodeCommand } from '../../../src/state/index.js';
import { startSolo } from '../../helpers/solo-server.js';
import { waitUntil } from '../../helpers/wait.js';
import type { Cmd } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-flush-safety-'));
let failNext: RegExp | null = null;
/** A statement or read matching `pattern` tells `reached`, then waits for `gate` before it runs. */
interface Hold { readonly pattern: RegExp; readonly gate: Promise<void>; readonly reached: () => void }

/** A hold for `pattern`; `reached` resolves once a matching call waits, `release` lets it run. */
function newHold(pattern: RegExp): { hold: Hold; reached: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  let reach = (): void => undefined;
  const reached = new Promise<void>((resolve) => { reach = resolve; });
  return { hold: { pattern, gate: new Promise((resolve) => { release = resolve; }), reached: reach }, reached, release };
}

/** The next flush statement matching the hold's pattern waits. */
let hold: Hold | null = null;
const realRun = DuckDBConnection.prototype.run;
DuckDBConnection.prototype.run = function (this: DuckDBConnection, ...args: Parameters<DuckDBConnection['run']>) {
  if (failNext !== null && failNext.test(args[0])) {
    failNext = null;
    return Promise.reject(new Error('injected: disk full'));
  }
  if (hold !== null && hold.pattern.test(args[0])) {
    const { gate, reached } = hold;
    hold = null;
    reached();
    return gate.then(() => realRun.apply(this, args));
  }
  return realRun.apply(this, args);
};
/** The next read matching the hold's pattern waits. */
let holdRead: Hold | null = null;
const events: string[] = [];
const realRead = DuckDBConnection.prototype.runAndReadAll;
DuckDBConnection.prototype.runAndReadAll = function (this: DuckDBConnection, ...args: Parameters<DuckDBConnection['runAndReadAll']>) {
  if (holdRead !== null && holdRead.pattern.test(args[0])) {
    const { gate, reached } = holdRead;
    holdRead = null;
    reached();
    return gate.then(() => realRead.apply(this, args)).then((reader) => {
      events.push('held read done');
      return reader;
    });
  }
  return realRead.apply(this, args);
};
/** Called (once) when a DuckDB instance closes. */
let onStoreClose: (() => void) | null = null;
const realCloseSync = DuckDBInstance.prototype.closeSync;
DuckDBInstance.prototype.closeSync = function (this: DuckDBInstance) {
  events.push('store closed');
  const call = onStoreClose;
  onStoreClose = null;
  call?.();
  return realCloseSync.apply(this);
};
afterAll(() => {
  DuckDBConnection.prototype.runAndReadAll = realRead;
  DuckDBInstance.prototype.closeSync = realCloseSync;
  DuckDBConnection.prototype.run = realRun;
  rmSync(dir, { recursive: true, force: true });
});

const submit = (id: string): Cmd => ({ type: 'task.submit', id, kind: 'k', payload: { id } });
const entry = (index: number, cmd: Cmd): Entry => ({ index, term: 1, type: 'normal', data: encodeCommand({ v: 1, ts: index, cmd }) });

/** A count of the tasks, under way on the read connection and held there until `release`; `events` starts empty. */
async function heldCount(state: CoordinatorState): Promise<{ running: Promise<Record<string, unknown>[]>; release: () => void }> {
  const { hold: held, reached, release } = newHold(/count\(\*\)/);
  holdRead = held;
  events.length = 0;
  const running = state.query('SELECT count(*)::INTEGER AS n FROM tasks');
  await reached;
  return { running, release };
}

describe('a failed flush', () => {
  it('makes every later flush fail, so the database never claims rows it lost; a restart replays them', async () => {
    const path = join(dir, 'state.duckdb');
    const log = [entry(1, submit('t1')), entry(2, submit('t2')), entry(3, submit('t3')), entry(4, { type: 'task.cancel', id: 't1' })];
    const failures: Error[] = [];
    const state = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000, onFlushFailure: (error) => failures.push(error) });
    await state.apply(log.slice(0, 1));
    await state.flush();
    await state.apply(log.slice(1, 2));
    failNext = /^INSERT INTO tasks/;
    await expect(state.flush()).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO', message: expect.stringContaining('injected: disk full') });
    expect(failNext).toBeNull(); // the injected failure was met
    await state.apply(log.slice(2));
    await expect(state.flush()).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
    expect(state.durableIndex()).toBe(1);
    expect(failures).toHaveLength(1); // told once, at the failure itself
    expect(failures[0]).toBe(state.flushFailure);
    const expected = state.checksum().checksum;
    await expect(state.close()).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });

    const reopened = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000 });
    expect(reopened.appliedIndex()).toBe(1);
    await reopened.apply(log.slice(1));
    expect(reopened.checksum().checksum).toBe(expected);
    const db = await reopened.checksumFromDatabase();
    expect(db.checksum).toBe(expected);
    expect(db.flushedIndex).toBe(4);
    await reopened.close();
  });

  it('on a node: it is fatal (the node exits to restart); until then reads answer CONCORD_ERR_STORAGE_IO and /live, /api/health/db 503', async () => {
    const fatal: Error[] = [];
    const solo = await startSolo(dir, 'solo', { log_level: 'info', flush_interval_ms: 60_000 }, { onFatal: (error) => fatal.push(error) });
    const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await request(`http://127.0.0.1:${solo.port}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.statusCode, body: await res.body.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    try {
      await waitUntil(async () => (await call('GET', '/ready')).status === 200, { timeoutMs: 15_000, what: 'the node to be ready' });
      expect((await call('POST', '/api/v1/tasks', { kind: 'k', payload: null })).status).toBe(201);
      expect((await call('GET', '/live')).status).toBe(200);
      failNext = /^INSERT INTO tasks/;
      const read = await call('GET', '/api/v1/tasks'); // a list read flushes first
      expect(failNext).toBeNull();
      expect(read).toMatchObject({ status: 507, body: { error: { code: 'CONCORD_ERR_STORAGE_IO', message: expect.stringContaining('injected: disk full') } } });
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
      expect(solo.logs.some((line) => line.includes('"level":60') && line.includes('state flush failed'))).toBe(true);
      expect(await call('GET', '/live')).toMatchObject({ status: 503, body: { status: 'state database failing' } });
      expect(await call('GET', '/api/health/db')).toMatchObject({ status: 503, body: { status: 'failing', error: expect.stringContaining('injected') } });
      expect((await call('GET', '/api/v1/tasks')).status).toBe(507); // and stays so: nothing is injected now
    } finally {
      await solo.server.close().catch((error: { code?: string }) => expect(error.code).toBe('CONCORD_ERR_STORAGE_IO'));
    }
  });

  it('reads never run inside a flush transaction: one taken mid-flush sees the last committed rows', async () => {
    const state = await CoordinatorState.open({ dbPath: join(dir, 'reads.duckdb'), flushIntervalMs: 60_000 });
    await state.apply([entry(1, submit('t1'))]);
    await state.flush();
    await state.apply([entry(2, submit('t2'))]);
    const { hold: held, reached: atMeta, release } = newHold(/^INSERT INTO raft_meta/);
    hold = held;
    const flushing = state.flush();
    await atMeta; // t2's row is inserted, the transaction is open
    expect(await state.query('SELECT count(*)::INTEGER AS n FROM tasks')).toEqual([{ n: 1 }]);
    release();
    await flushing;
    expect(await state.query('SELECT count(*)::INTEGER AS n FROM tasks')).toEqual([{ n: 2 }]);
    await state.close();
  });
});

describe('a snapshot install', () => {
  it('waits for reads already running, and reads that start meanwhile get the new state', async () => {
    const state = await CoordinatorState.open({ dbPath: join(dir, 'install.duckdb'), flushIntervalMs: 60_000 });
    await state.apply([entry(1, submit('t1')), entry(2, submit('t2'))]);
    const snapshot = await state.createSnapshot(join(dir, 'install.snap'));
    expect(snapshot.index).toBe(2);
    await state.apply([entry(3, submit('t3'))]);
    await state.flush();
    const { running, release } = await heldCount(state);
    let later: Promise<Record<string, unknown>[]> | null = null;
    onStoreClose = () => { later = state.query('SELECT id FROM tasks ORDER BY id'); }; // starts as the old store closes
    const installing = state.restoreSnapshot(snapshot.path, 2);
    release();
    expect(await running).toEqual([{ n: 3 }]); // the old state, read to the end
    await installing;
    expect(events.slice(0, 2)).toEqual(['held read done', 'store closed']);
    expect(later).not.toBeNull();
    expect(await later).toEqual([{ id: 't1' }, { id: 't2' }]); // the installed state
    await state.close();
  });

  it('one that fails after the old database closed fails every later read and flush; close() still ends', async () => {
    const state = await CoordinatorState.open({ dbPath: join(dir, 'bad-install.duckdb'), flushIntervalMs: 60_000 });
    await state.apply([entry(1, submit('t1')), entry(2, submit('t2'))]);
    const snapshot = await state.createSnapshot(join(dir, 'bad-install.snap'));
    await expect(state.restoreSnapshot(snapshot.path, 5)).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO',
      message: expect.stringContaining('snapshot file holds applied index 2, expected 5') });
    await expect(state.query('SELECT count(*) AS n FROM tasks')).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
    await expect(state.flush()).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
    await expect(state.close()).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
  });

  it('close() waits for a running read before it closes the database, and refuses reads after its flush', async () => {
    const state = await CoordinatorState.open({ dbPath: join(dir, 'close.duckdb'), flushIntervalMs: 60_000 });
    await state.apply([entry(1, submit('t1'))]);
    await state.flush();
    const { running, release } = await heldCount(state);
    let refused: Promise<unknown> | null = null;
    onStoreClose = () => { refused = state.query('SELECT 1'); };
    const closing = state.close();
    release();
    expect(await running).toEqual([{ n: 1 }]);
    await closing;
    expect(events).toEqual(['held read done', 'store closed']);
    await expect(refused).rejects.toThrow('the state is closed');
  });
});
