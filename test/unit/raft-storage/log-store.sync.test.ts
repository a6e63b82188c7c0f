// Which updates reach the disk, and how: by default a commit-index-only update is not
// synced (etcd's MustSync rule) and rides in front of the next write (close() writes what
// is left); with syncAll every update is synced. On Linux a synced batch is one O_DSYNC
// write unless the segment may hold unsynced bytes.
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RaftLogStore, nodeFs, type StorageFs } from '../../../raft/storage/index.js';
import { entries, withTempDir } from './helpers.js';

/** node:fs with every write, fdatasync and close of the WAL segments counted and logged (file name and call). */
function countingFs(): { fs: StorageFs; calls: { writes: number; datasyncs: number }; log: string[] } {
  const calls = { writes: 0, datasyncs: 0 };
  const log: string[] = [];
  const fs: StorageFs = {
    ...nodeFs,
    async openAppend(path) {
      const file = await nodeFs.openAppend(path);
      const name = basename(path);
      return {
        write: (b, o, l, p) => { calls.writes++; log.push(`${name} write`); return file.write(b, o, l, p); },
        datasync: () => { calls.datasyncs++; log.push(`${name} datasync`); return file.datasync(); },
        truncate: (l) => file.truncate(l),
        close: () => { log.push(`${name} close`); return file.close(); },
      };
    },
  };
  return { fs, calls, log };
}

async function commitOnlyUpdate(syncAll: boolean | undefined): Promise<{ writes: number; datasyncs: number; reloadedCommit: number }> {
  return withTempDir(async (dir) => {
    const { fs, calls } = countingFs();
    const store = await RaftLogStore.open({ dir, fs, ...(syncAll === undefined ? {} : { syncAll }) });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1), snapshot: null });
    const before = { ...calls };
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: [], snapshot: null });
    const delta = { writes: calls.writes - before.writes, datasyncs: calls.datasyncs - before.datasyncs };
    await store.close();
    const again = await RaftLogStore.open({ dir });
    const reloadedCommit = again.loaded().hardState.commit;
    await again.close();
    return { ...delta, reloadedCommit };
  });
}

describe('RaftLogStore sync policy', () => {
  it('by default neither syncs nor writes a commit-only update at once; close() writes it', async () => {
    expect(await commitOnlyUpdate(undefined)).toEqual({ writes: 0, datasyncs: 0, reloadedCommit: 3 });
    expect(await commitOnlyUpdate(false)).toEqual({ writes: 0, datasyncs: 0, reloadedCommit: 3 });
  });

  it('carries a commit-only update to the front of the next synced write (one write, one sync, in order)', () => withTempDir(async (dir) => {
    const { fs, log } = countingFs();
    const store = await RaftLogStore.open({ dir, fs });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1), snapshot: null });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 2 }, entries: [], snapshot: null });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: [], snapshot: null });
    log.length = 0;
    await store.persist({ hardState: null, entries: entries(4, 5, 1), snapshot: null });
    expect(log).toEqual(['wal-0000000000000001.log write', 'wal-0000000000000001.log datasync']);
    log.length = 0;
    await store.close();
    expect(log).toEqual(['wal-0000000000000001.log close']); // nothing left to write: the carried record went with the batch
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().hardState.commit).toBe(3);
    expect(again.loaded().entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    await again.close();
  }));

  it('fdatasyncs a commit-only update with syncAll, and counts it in stats', async () => {
    expect(await commitOnlyUpdate(true)).toEqual({ writes: 1, datasyncs: 1, reloadedCommit: 3 });
    await withTempDir(async (dir) => {
      const store = await RaftLogStore.open({ dir, syncAll: true });
      await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 2, 1), snapshot: null });
      const synced = store.stats().fsyncs;
      await store.persist({ hardState: { term: 1, vote: 'a', commit: 1 }, entries: [], snapshot: null });
      await store.persist({ hardState: { term: 1, vote: 'a', commit: 2 }, entries: [], snapshot: null });
      expect(store.stats().fsyncs).toBe(synced + 2);
      await store.close();
    });
  });

  it('a carried commit-only update goes into the next segment when that write starts one', () => withTempDir(async (dir) => {
    const { fs, log } = countingFs();
    const store = await RaftLogStore.open({ dir, fs, segmentBytesMax: 2048 });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1), snapshot: null });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: [], snapshot: null }); // carried
    log.length = 0;
    // Bigger than what is left of the first segment: the next one is started.
    await store.persist({ hardState: null, entries: entries(4, 100, 1), snapshot: null });
    expect(log).toEqual(['wal-0000000000000001.log close', 'wal-0000000000000002.log write', 'wal-0000000000000002.log datasync']);
    log.length = 0;
    await store.close();
    expect(log).toEqual(['wal-0000000000000002.log close']); // the carried record went into the new segment
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().hardState.commit).toBe(3);
    expect(again.loaded().entries.at(-1)?.index).toBe(100);
    await again.close();
  }));

  it('after a restart, syncs a full last segment an earlier process left before sealing it', () => withTempDir(async (dir) => {
    const first = await RaftLogStore.open({ dir, segmentBytesMax: 2048 });
    await first.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 200, 1), snapshot: null }); // one write, past the segment size
    await first.close();
    const { fs, log } = countingFs();
    const again = await RaftLogStore.open({ dir, fs, segmentBytesMax: 2048 });
    await again.persist({ hardState: null, entries: entries(201, 202, 1), snapshot: null });
    expect(log.slice(0, 2)).toEqual(['wal-0000000000000001.log datasync', 'wal-0000000000000001.log close']);
    expect(log).toContain('wal-0000000000000002.log write');
    await again.close();
  }));
});

describe.runIf(process.platform === 'linux')('RaftLogStore with O_DSYNC writes (Linux)', () => {
  /** node:fs with writeDurable kept (optionally writing only the first `shortBy`-less part) and every call logged. */
  function durableFs(shortBy = 0): { fs: StorageFs; log: string[] } {
    const log: string[] = [];
    const fs: StorageFs = {
      ...nodeFs,
      async openAppend(path) {
        const file = await nodeFs.openAppend(path);
        return {
          write: (b, o, l, p) => { log.push(`write ${l}`); return file.write(b, o, l, p); },
          writeDurable: (b, o, l, p) => { log.push(`writeDurable ${l - shortBy}`); return file.writeDurable!(b, o, l - shortBy, p); },
          datasync: () => { log.push('datasync'); return file.datasync(); },
          truncate: (l) => file.truncate(l),
          close: () => file.close(),
        };
      },
    };
    return { fs, log };
  }

  it('syncs each batch with one O_DSYNC write, but writes and fdatasyncs in a segment reopened after a restart', () => withTempDir(async (dir) => {
    const { fs, log } = durableFs();
    const kinds = () => log.splice(0).map((line) => line.split(' ')[0]);
    const store = await RaftLogStore.open({ dir, fs });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1), snapshot: null });
    expect(kinds()).toEqual(['writeDurable']); // a new, empty segment
    await store.persist({ hardState: null, entries: entries(4, 6, 1), snapshot: null });
    expect(kinds()).toEqual(['writeDurable']);
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 6 }, entries: [], snapshot: null });
    expect(kinds()).toEqual([]); // commit only: carried to the next write
    await store.persist({ hardState: null, entries: entries(7, 8, 1), snapshot: null });
    expect(kinds()).toEqual(['writeDurable']); // with the carried record in front
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 8 }, entries: [], snapshot: null });
    await store.close(); // writes the carried record, unsynced
    expect(kinds()).toEqual(['write']);
    expect(store.stats().fsyncs).toBe(3);
    const reopened = await RaftLogStore.open({ dir, fs });
    await reopened.persist({ hardState: null, entries: entries(9, 9, 1), snapshot: null });
    expect(kinds()).toEqual(['write', 'datasync']); // O_DSYNC would not cover the unsynced record the last process left
    await reopened.persist({ hardState: null, entries: entries(10, 10, 1), snapshot: null });
    expect(kinds()).toEqual(['writeDurable']);
    await reopened.close();
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(again.loaded().hardState.commit).toBe(8);
    await again.close();
  }));

  it('finishes a short O_DSYNC write with plain writes and an fdatasync', () => withTempDir(async (dir) => {
    const { fs, log } = durableFs(10);
    const store = await RaftLogStore.open({ dir, fs });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1), snapshot: null });
    log.length = 0;
    await store.persist({ hardState: null, entries: entries(4, 6, 1), snapshot: null });
    expect(log.map((line) => line.split(' ')[0])).toEqual(['writeDurable', 'write', 'datasync']);
    expect(log[1]).toBe('write 10');
    await store.close();
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
    await again.close();
  }));
});
