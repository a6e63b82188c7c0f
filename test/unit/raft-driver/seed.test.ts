// Seeding Raft storage for an offline restore: the WAL and the snapshot store
// open with the seeded snapshot and hard state, and recovery starts the log after it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { recoverInitialState } from '../../../raft/driver/recover.js';
import { SNAPSHOT_DIR, WAL_DIR, seedMetaProblem, seedRaftStorage } from '../../../raft/driver/seed.js';
import type { SnapshotMeta } from '../../../raft/core/types.js';
import type { StateMachine } from '../../../raft/state-machine.js';
import { RaftLogStore, SnapshotStore } from '../../../raft/storage/index.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const meta: SnapshotMeta = { index: 120, term: 1, confState: { voters: ['a', 'b', 'c'], learners: [] } };

describe('seedRaftStorage', () => {
  it('writes a snapshot and a WAL that recovery starts from', async () => {
    const dataDir = join(dir, 'node');
    const record = await seedRaftStorage({ dataDir, meta, writeSnapshotFile: async (path) => writeFileSync(path, 'state bytes') });
    expect(record.meta).toEqual(meta);
    const wal = await RaftLogStore.open({ dir: join(dataDir, WAL_DIR) });
    const snapshots = await SnapshotStore.open({ dir: join(dataDir, SNAPSHOT_DIR) });
    const loaded = wal.loaded();
    expect(loaded.snapshot).toEqual(meta);
    expect(loaded.hardState).toEqual({ term: 1, vote: null, commit: 120 });
    expect(snapshots.latest()?.meta).toEqual(meta);
    let restored: { path: string; index: number } | null = null;
    let durable = 0;
    const machine: StateMachine = {
      apply: async () => [], appliedIndex: () => durable, durableIndex: () => durable,
      createSnapshot: async () => { throw new Error('unused'); },
      restoreSnapshot: async (path, index) => { restored = { path, index }; durable = index; },
      close: async () => undefined,
    };
    const initial = await recoverInitialState({ log: loaded, latestSnapshot: { meta, path: record.path }, stateMachine: machine,
      bootstrap: { voters: ['x'], learners: [] }, logger: pino({ level: 'silent' }) });
    expect(restored).toEqual({ path: record.path, index: 120 });
    expect(initial).toMatchObject({ snapshot: meta, entries: [], applied: 120, hardState: { term: 1, commit: 120 } });
    await wal.close();
    await expect(seedRaftStorage({ dataDir, meta, writeSnapshotFile: async () => undefined })).rejects.toThrow(/already holds Raft data/);
  });

  it('refuses a snapshot it cannot start from', () => {
    expect(seedMetaProblem(meta)).toBeNull();
    expect(seedMetaProblem({ ...meta, index: 0 })).toMatch(/index/);
    expect(seedMetaProblem({ ...meta, term: 0 })).toMatch(/term/);
    expect(seedMetaProblem({ ...meta, confState: { voters: [], learners: [] } })).toMatch(/voter/);
    expect(seedMetaProblem({ ...meta, confState: { voters: ['a', 'a'], learners: [] } })).toMatch(/twice/);
    expect(seedMetaProblem({ ...meta, confState: { voters: ['a'], learners: ['a'] } })).toMatch(/both/);
  });
});
