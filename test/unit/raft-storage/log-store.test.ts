import { readdir, readFile, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RaftLogStore, StorageError, nodeFs, type StorageFs } from '../../../raft/storage/index.js';
import { encodeHardStateFile } from '../../../raft/storage/hard-state-file.js';
import { encodeCompactMarker, encodeHardState } from '../../../raft/storage/record.js';
import { entries, entry, plain, withTempDir } from './helpers.js';

const conf = { voters: ['a', 'b', 'c'], learners: [] };
const segmentsOf = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('wal-')).sort();

describe('RaftLogStore', () => {
  it('round-trips entries, hard state and truncation of a conflicting suffix', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 5, 1), snapshot: null });
    await store.persist({ hardState: { term: 2, vote: 'b', commit: 3 }, entries: entries(4, 6, 2), snapshot: null });
    expect(store.stats()).toMatchObject({ firstIndex: 1, lastIndex: 6, healthy: true, entriesSynced: 8 });
    await store.close();
    const again = await RaftLogStore.open({ dir });
    const loaded = again.loaded();
    expect(loaded.hardState).toEqual({ term: 2, vote: 'b', commit: 3 });
    expect(plain(loaded.entries)).toEqual(plain([...entries(1, 3, 1), ...entries(4, 6, 2)]));
    expect(loaded.tornTailBytes).toBe(0);
    await again.close();
  }));

  it('syncs entries and term/vote changes but not a commit-index-only update (MustSync)', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1), snapshot: null });
    const synced = store.stats().fsyncs;
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 2 }, entries: [], snapshot: null });
    expect(store.stats().fsyncs).toBe(synced);
    await store.persist({ hardState: { term: 2, vote: null, commit: 2 }, entries: [], snapshot: null });
    expect(store.stats().fsyncs).toBe(synced + 1);
    await store.persist({ hardState: { term: 2, vote: null, commit: 3 }, entries: [], snapshot: null });
    await store.close();
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().hardState).toEqual({ term: 2, vote: null, commit: 3 });
    await again.close();
  }));

  it('rotates segments at segmentBytesMax and replays across them', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir, segmentBytesMax: 1024 });
    for (let i = 1; i <= 40; i++) await store.persist({ hardState: null, entries: [entry(i, 1, 'x'.repeat(100))], snapshot: null });
    expect(store.stats().segments).toBeGreaterThan(3);
    expect((await segmentsOf(dir)).length).toBe(store.stats().segments);
    await store.close();
    const again = await RaftLogStore.open({ dir, segmentBytesMax: 1024 });
    expect(again.loaded().entries.map((e) => e.index)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await again.close();
  }));

  it('cuts a torn tail in the last segment and reports its size', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: null, entries: entries(1, 3, 1), snapshot: null });
    await store.close();
    const [segment] = await segmentsOf(dir);
    const path = join(dir, segment);
    const size = (await stat(path)).size;
    await truncate(path, size - 5);
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().entries.map((e) => e.index)).toEqual([1, 2]);
    expect(again.loaded().tornTailBytes).toBeGreaterThan(0);
    await again.persist({ hardState: null, entries: [entry(3, 2)], snapshot: null });
    await again.close();
    const third = await RaftLogStore.open({ dir });
    expect(plain(third.loaded().entries)).toEqual(plain([entry(1, 1), entry(2, 1), entry(3, 2)]));
    expect(third.loaded().tornTailBytes).toBe(0);
    await third.close();
  }));

  it('rejects a bad checksum before the tail with file and offset', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: null, entries: entries(1, 5, 1), snapshot: null });
    await store.close();
    const path = join(dir, (await segmentsOf(dir))[0]);
    const bytes = await readFile(path);
    const recordBytes = bytes.length / 5;
    bytes[recordBytes * 2 + 20] ^= 0x40; // inside the third record's payload
    await writeFile(path, bytes);
    const error = await RaftLogStore.open({ dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'CONCORD_ERR_STORAGE_CORRUPT', file: path, offset: recordBytes * 2 });
  }));

  it('rejects a torn record in a sealed (non-last) segment', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir, segmentBytesMax: 1024 });
    for (let i = 1; i <= 30; i++) await store.persist({ hardState: null, entries: [entry(i, 1, 'y'.repeat(100))], snapshot: null });
    await store.close();
    const first = join(dir, (await segmentsOf(dir))[0]);
    await truncate(first, (await stat(first)).size - 3);
    await expect(RaftLogStore.open({ dir })).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_CORRUPT', file: first });
  }));

  it('rejects a log whose hard state commit is beyond its last index (etcd#10166)', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: entries(1, 3, 1), snapshot: null });
    await store.close();
    // Simulate lost log writes: the hard-state file claims a commit the log never reached.
    await writeFile(join(dir, 'hardstate'), encodeHardStateFile({ term: 1, vote: 'a', commit: 20 }));
    await expect(RaftLogStore.open({ dir })).rejects.toMatchObject({
      code: 'CONCORD_ERR_STORAGE_CORRUPT', message: expect.stringMatching(/commit 20 is beyond the last log index 3/) as unknown,
    });
  }));

  it('keeps term and vote in the hard-state file; a corrupt one is rejected', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: { term: 4, vote: 'c', commit: 0 }, entries: [], snapshot: null });
    await store.close();
    expect((await readFile(join(dir, 'hardstate'), 'utf8')).slice(9)).toBe('{"term":4,"vote":"c","commit":0}');
    await writeFile(join(dir, 'hardstate'), '00000000 {"term":4,"vote":"c","commit":0}');
    await expect(RaftLogStore.open({ dir })).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_CORRUPT', file: join(dir, 'hardstate') });
  }));

  it('shares one fdatasync among concurrent persist calls (group commit)', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await Promise.all(Array.from({ length: 64 }, (_, i) => store.persist({ hardState: null, entries: [entry(i + 1, 1)], snapshot: null })));
    const { fsyncs, entriesSynced, lastIndex } = store.stats();
    expect(entriesSynced).toBe(64);
    expect(lastIndex).toBe(64);
    expect(fsyncs).toBeLessThanOrEqual(2); // the first call's write, then everything queued behind it
    await store.close();
  }));

  it('compacts the head exactly and keeps the snapshot meta, deleting old segments without rewriting any entry', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir, segmentBytesMax: 1024 });
    // 132 bytes per persist (entry 106 + hard state 26): 7 per segment, 5 segments for 30.
    for (let i = 1; i <= 30; i++) await store.persist({ hardState: { term: 1, vote: 'a', commit: i }, entries: [entry(i, 1, 'w'.repeat(80))], snapshot: null });
    const before = store.stats();
    expect(before.segments).toBe(5);
    const meta = { index: 25, term: 1, confState: conf };
    await store.compact(20, meta);
    // Segments holding 1–7 and 8–14 are gone; 15–21 stays (it holds 21). The only bytes
    // written are the marker and the hard state appended to the current segment.
    const appended = encodeCompactMarker(20, meta).length + encodeHardState({ term: 1, vote: 'a', commit: 30 }).length;
    expect(store.stats()).toMatchObject({ firstIndex: 21, lastIndex: 30, segments: 3, bytes: before.bytes - 2 * 7 * 132 + appended });
    await store.persist({ hardState: null, entries: [entry(31, 1)], snapshot: null });
    await store.close();
    const again = await RaftLogStore.open({ dir, segmentBytesMax: 1024 });
    expect(again.loaded().snapshot).toEqual(meta);
    expect(again.loaded().entries.map((e) => e.index)).toEqual(Array.from({ length: 11 }, (_, i) => i + 21));
    expect(again.loaded().hardState).toEqual({ term: 1, vote: 'a', commit: 30 });
    await again.close();
  }));

  it('reopens when replay starts at a segment that opens with an older compaction marker', () => withTempDir(async (dir) => {
    // Review finding: compaction deletes whole segments, and a marker can open a segment
    // (its own append rotated). The kept entries then start past that marker's point.
    const store = await RaftLogStore.open({ dir, segmentBytesMax: 300 });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 8 }, entries: entries(1, 8, 1), snapshot: null });
    await store.compact(2, { index: 2, term: 1, confState: conf }); // does not fit: the marker opens segment 2
    for (let i = 9; i <= 16; i++) await store.persist({ hardState: { term: 1, vote: 'a', commit: i }, entries: [entry(i, 1)], snapshot: null });
    await store.compact(10, { index: 10, term: 1, confState: conf });
    const segments = store.stats().segments;
    await store.close();
    const again = await RaftLogStore.open({ dir, segmentBytesMax: 300 });
    expect(again.stats().segments).toBe(segments);
    expect(again.loaded().entries.map((e) => e.index)).toEqual([11, 12, 13, 14, 15, 16]);
    expect(again.loaded().snapshot).toEqual({ index: 10, term: 1, confState: conf });
    await again.close();
  }));

  it('an installed snapshot that the log does not contain discards the log', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: null, entries: entries(1, 5, 1), snapshot: null });
    await store.persist({ hardState: { term: 3, vote: null, commit: 10 }, entries: [], snapshot: { index: 10, term: 3, confState: conf } });
    expect(store.stats()).toMatchObject({ firstIndex: 11, lastIndex: 10 });
    await store.close();
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded()).toMatchObject({ entries: [], snapshot: { index: 10, term: 3 }, hardState: { commit: 10 } });
    await again.close();
  }));

  it('rejects invalid input with a clear error', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await expect(store.persist({ hardState: null, entries: [entry(1, 1), entry(3, 1)], snapshot: null })).rejects.toThrow(/not contiguous/);
    await expect(store.compact(5, { index: 4, term: 1, confState: conf })).rejects.toThrow(/throughIndex/);
    await expect(RaftLogStore.open({ dir, segmentBytesMax: 100 })).rejects.toThrow(/segmentBytesMax/);
    await store.close();
  }));
});

describe('RaftLogStore on a failing disk', () => {
  function failingFs(fail: { on: 'write' | 'datasync' | 'writeAtomic' | null; code: string }): StorageFs {
    const error = () => Object.assign(new Error(`injected ${fail.code}`), { code: fail.code });
    return {
      ...nodeFs,
      async openAppend(path) {
        const file = await nodeFs.openAppend(path);
        return {
          write: (b, o, l, p) => (fail.on === 'write' ? Promise.reject(error()) : file.write(b, o, l, p)),
          datasync: () => (fail.on === 'datasync' ? Promise.reject(error()) : file.datasync()),
          truncate: (l) => file.truncate(l),
          close: () => file.close(),
        };
      },
      writeAtomic: (path, data) => (fail.on === 'writeAtomic' ? Promise.reject(error()) : nodeFs.writeAtomic(path, data)),
    };
  }

  it('ENOSPC: rejects, goes unhealthy, refuses writes until recover() succeeds', () => withTempDir(async (dir) => {
    const fail: { on: 'write' | 'datasync' | 'writeAtomic' | null; code: string } = { on: null, code: 'ENOSPC' };
    const store = await RaftLogStore.open({ dir, fs: failingFs(fail) });
    await store.persist({ hardState: null, entries: entries(1, 2, 1), snapshot: null });
    fail.on = 'write';
    await expect(store.persist({ hardState: null, entries: [entry(3, 1)], snapshot: null })).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_FULL' });
    expect(store.stats()).toMatchObject({ healthy: false, lastIndex: 2, error: { code: 'CONCORD_ERR_STORAGE_FULL' } });
    fail.on = null;
    await expect(store.persist({ hardState: null, entries: [entry(3, 1)], snapshot: null })).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_FULL' });
    await store.recover();
    expect(store.stats().healthy).toBe(true);
    await store.persist({ hardState: null, entries: [entry(3, 2)], snapshot: null });
    await store.close();
    const again = await RaftLogStore.open({ dir });
    expect(plain(again.loaded().entries)).toEqual(plain([entry(1, 1), entry(2, 1), entry(3, 2)]));
    await again.close();
  }));

  it('EIO on fdatasync: every queued caller is rejected, the unsynced bytes are cut on recover', () => withTempDir(async (dir) => {
    const fail: { on: 'write' | 'datasync' | 'writeAtomic' | null; code: string } = { on: 'datasync', code: 'EIO' };
    const store = await RaftLogStore.open({ dir, fs: failingFs(fail) });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.persist({ hardState: null, entries: [entry(i + 1, 1)], snapshot: null })));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as StorageError).code === 'CONCORD_ERR_STORAGE_IO')).toBe(true);
    expect(store.stats()).toMatchObject({ healthy: false, lastIndex: 0, entriesSynced: 0 });
    await expect(store.recover()).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
    expect(store.stats().healthy).toBe(false);
    fail.on = null;
    await store.recover();
    await store.close();
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().entries).toEqual([]);
    await again.close();
  }));

  it('a failing hard-state file write is reported too', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir, fs: failingFs({ on: 'writeAtomic', code: 'EIO' }) });
    await expect(store.persist({ hardState: { term: 2, vote: 'a', commit: 0 }, entries: [], snapshot: null })).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
    expect(store.stats().healthy).toBe(false);
    await store.close();
  }));

  it('a failed compaction leaves the store unhealthy and the log as it was', () => withTempDir(async (dir) => {
    const fail: { on: 'write' | 'datasync' | 'writeAtomic' | null; code: string } = { on: null, code: 'EIO' };
    const store = await RaftLogStore.open({ dir, fs: failingFs(fail) });
    await store.persist({ hardState: { term: 1, vote: 'a', commit: 8 }, entries: entries(1, 10, 1), snapshot: null });
    fail.on = 'datasync';
    await expect(store.compact(6, { index: 8, term: 1, confState: conf })).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
    expect(store.stats()).toMatchObject({ healthy: false, firstIndex: 1, lastIndex: 10 });
    fail.on = null;
    await store.recover();
    await store.close();
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded().entries.map((e) => e.index)).toEqual(entries(1, 10, 1).map((e) => e.index));
    expect(again.loaded().snapshot).toBeNull();
    await again.close();
  }));

  it('garbage appended after the last record is a torn tail', () => withTempDir(async (dir) => {
    const store = await RaftLogStore.open({ dir });
    await store.persist({ hardState: null, entries: entries(1, 2, 1), snapshot: null });
    await store.close();
    await appendFile(join(dir, (await segmentsOf(dir))[0]), Buffer.from('not a record at all'));
    const again = await RaftLogStore.open({ dir });
    expect(again.loaded()).toMatchObject({ tornTailBytes: 19 });
    expect(again.loaded().entries.map((e) => e.index)).toEqual([1, 2]);
    await again.close();
  }));
});
