// GET /api/backup against a real CoordinatorState and a scripted Raft node: the
// read barrier runs before the copy (a write committed but not yet applied here is
// in a linearizable backup, not in a stale one), a failed barrier is answered with
// its code, one backup at a time, and the temporary copy is always deleted.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../../raft/core/types.js';
import { RaftError, type RaftNodeHandle } from '../../../raft/node-api.js';
import { buildApp } from '../../../src/api/app.js';
import { BACKUP_FORMAT, backupHeaderSchema } from '../../../src/backup/format.js';
import { configSchema, type ConcordConfig } from '../../../src/config/index.js';
import { CoordinatorState, encodeCommand } from '../../../src/state/index.js';
import { DuckStore } from '../../../src/state/store/duck-store.js';
import { waitUntil } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-backup-route-'));
const config: ConcordConfig = { ...configSchema.parse({ node_id: 'f1', data_dir: dir, enable_redundancy: false, log_level: 'silent' }),
  db_path: join(dir, 'state.duckdb') };
const task = (index: number, id: string): Entry =>
  ({ index, term: 2, type: 'normal', data: encodeCommand({ v: 1, ts: 1000 + index, cmd: { type: 'task.submit', id, kind: 'k', payload: null } }) });

let state: CoordinatorState;
/** Entries committed by the "leader" that this node applies only when a read barrier asks for them. */
let committedNotApplied: Entry[] = [];
let barrier: () => Promise<number>;
let barriers = 0;

const raft = {
  id: 'f1',
  readBarrier: async () => { barriers++; return barrier(); },
  status: () => ({ confState: { voters: ['f0', 'f1'], learners: [] }, peers: [{ id: 'f0', host: '127.0.0.1', port: 1, voter: true }] }),
  readPosition: () => ({ commit: 0, leaderContactAgeMs: null }),
  latestSnapshot: () => null,
  logEntries: (from: number) => [{ index: from, term: 2, type: 'normal', bytes: 1 }],
} as unknown as RaftNodeHandle;

beforeAll(async () => {
  state = await CoordinatorState.open({ dbPath: config.db_path, flushIntervalMs: 3_600_000 });
  await state.apply([task(1, 'applied')]);
  barrier = async () => {
    await state.apply(committedNotApplied);
    committedNotApplied = [];
    return state.appliedIndex();
  };
});
afterAll(async () => {
  await state.close();
  rmSync(dir, { recursive: true, force: true });
});

async function tasksIn(body: Buffer): Promise<string[]> {
  const newline = body.indexOf(0x0a);
  const path = join(dir, `check-${Date.now()}-${Math.random()}.duckdb`);
  writeFileSync(path, body.subarray(newline + 1));
  const store = await DuckStore.open(path, 64);
  try {
    return (await store.query('SELECT k FROM tasks ORDER BY k')).map((r) => String(r.k));
  } finally {
    store.close();
  }
}

describe('GET /api/backup', () => {
  const app = () => buildApp({ config, raft, state });

  it('waits for the read barrier before copying; ?consistency=stale does not', async () => {
    const server = app();
    committedNotApplied = [task(2, 'committed')];
    const stale = await server.inject({ method: 'GET', url: '/api/backup?consistency=stale' });
    expect(stale.statusCode).toBe(200);
    expect(barriers).toBe(0);
    expect(stale.headers['x-concord-backup-index']).toBe('1');
    expect(await tasksIn(stale.rawPayload)).toEqual(['applied']);

    const linear = await server.inject({ method: 'GET', url: '/api/backup' });
    expect(linear.statusCode).toBe(200);
    expect(barriers).toBe(1);
    const header = backupHeaderSchema.parse(JSON.parse(linear.rawPayload.subarray(0, linear.rawPayload.indexOf(0x0a)).toString()));
    expect(header).toMatchObject({ format: BACKUP_FORMAT, index: 2, term: 2, node_id: 'f1',
      membership: { voters: ['f0', 'f1'], learners: [], addresses: { f1: '127.0.0.1:8080', f0: '127.0.0.1:1' } } });
    expect(header.state_checksum).toBe(state.checksum().checksum);
    expect(linear.headers['x-concord-backup-sha256']).toBe(header.db_sha256);
    expect(Number(linear.headers['content-length'])).toBe(linear.rawPayload.length);
    expect(await tasksIn(linear.rawPayload)).toEqual(['applied', 'committed']);
    await waitUntil(() => readdirSync(join(dir, 'backup-tmp')).length === 0, { timeoutMs: 5000, what: 'the copies to be deleted' });
    await server.close();
  });

  it('answers a failed barrier with its code, refuses a second concurrent backup and validates the query', async () => {
    const server = app();
    barrier = () => Promise.reject(new RaftError('CONCORD_ERR_NO_LEADER', 'no leader is known'));
    const failed = await server.inject({ method: 'GET', url: '/api/backup' });
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ error: { code: 'CONCORD_ERR_NO_LEADER' } });

    let release: () => void = () => undefined;
    barrier = () => new Promise((resolve) => { release = () => resolve(state.appliedIndex()); });
    const first = server.inject({ method: 'GET', url: '/api/backup' });
    await new Promise((resolve) => setImmediate(resolve));
    const second = await server.inject({ method: 'GET', url: '/api/backup?consistency=stale' });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ error: { code: 'CONCORD_ERR_BACKUP_IN_PROGRESS' } });
    release();
    expect((await first).statusCode).toBe(200);
    expect((await server.inject({ method: 'GET', url: '/api/backup?consistency=stale' })).statusCode).toBe(200);
    expect((await server.inject({ method: 'GET', url: '/api/backup?consistency=lease' })).statusCode).toBe(400);
    expect((await server.inject({ method: 'GET', url: '/api/backup?other=1' })).statusCode).toBe(400);
    await waitUntil(() => readdirSync(join(dir, 'backup-tmp')).length === 0, { timeoutMs: 5000, what: 'the copies to be deleted' });
    await server.close();
  });
});
