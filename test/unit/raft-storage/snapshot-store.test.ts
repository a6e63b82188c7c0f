import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnapshotStore, StorageError } from '../../../raft/storage/index.js';
import { withTempDir } from './helpers.js';

const meta = (index: number, term = 1) => ({ index, term, confState: { voters: ['a'], learners: [] } });

async function produce(store: SnapshotStore, text: string): Promise<string> {
  const path = store.newTempPath();
  await writeFile(path, text);
  return path;
}

describe('SnapshotStore', () => {
  it('commits a file: checksum, rename, meta, and latest() survives reopen', () => withTempDir(async (dir) => {
    const store = await SnapshotStore.open({ dir });
    expect(store.latest()).toBeNull();
    const record = await store.commit(await produce(store, 'state at 10'), meta(10));
    expect(record).toMatchObject({ meta: meta(10), bytes: 11 });
    expect(record.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await readFile(record.path, 'utf8')).toBe('state at 10');
    expect(await store.verify(record)).toBe(true);
    const again = await SnapshotStore.open({ dir });
    expect(again.latest()).toEqual(record);
  }));

  it('keeps the members\' addresses with a snapshot; older meta files without them load with none', () => withTempDir(async (dir) => {
    const store = await SnapshotStore.open({ dir });
    const addresses = { a: '127.0.0.1:8081', d: 'node-d.internal:8084' };
    const record = await store.commit(await produce(store, 'with addresses'), meta(7), addresses);
    expect((await SnapshotStore.open({ dir })).latest()?.addresses).toEqual(addresses);
    await expect(store.commit(await produce(store, 'bad'), meta(8), { d: 'node-d' })).rejects.toThrow(/host:port/);
    const metaPath = record.path.replace(/\.snap$/, '.meta.json');
    const { addresses: _dropped, ...older } = JSON.parse(await readFile(metaPath, 'utf8')) as Record<string, unknown>;
    await writeFile(metaPath, JSON.stringify(older));
    expect((await SnapshotStore.open({ dir })).latest()).toEqual({ ...record, addresses: {} });
    await writeFile(metaPath, JSON.stringify({ ...older, addresses: { d: 42 } }));
    expect((await SnapshotStore.open({ dir })).latest()).toBeNull();
  }));

  it('keeps the newest `keep` snapshots and prunes the rest', () => withTempDir(async (dir) => {
    const store = await SnapshotStore.open({ dir, keep: 2 });
    for (const index of [5, 20, 12, 30]) await store.commit(await produce(store, `s${index}`), meta(index, 2));
    expect(store.latest()?.meta.index).toBe(30);
    const snaps = (await readdir(dir)).filter((n) => n.endsWith('.snap')).sort();
    expect(snaps).toHaveLength(2);
    expect(snaps[0]).toContain((20).toString(16).padStart(16, '0'));
  }));

  it('ignores (and reports) a snapshot whose file no longer matches its checksum', () => withTempDir(async (dir) => {
    const store = await SnapshotStore.open({ dir, keep: 3 });
    const older = await store.commit(await produce(store, 'older'), meta(4));
    const newer = await store.commit(await produce(store, 'newer'), meta(8));
    await writeFile(newer.path, 'newer but flipped');
    expect(await store.verify(newer)).toBe(false);
    const errors: unknown[] = [];
    const logger = { error: (o: unknown) => errors.push(o), debug: () => undefined } as never;
    const again = await SnapshotStore.open({ dir, logger });
    expect(again.latest()).toEqual(older);
    expect(errors).toHaveLength(1);
  }));

  it('ignores a torn meta file and a missing snapshot file', () => withTempDir(async (dir) => {
    const store = await SnapshotStore.open({ dir, keep: 3 });
    const first = await store.commit(await produce(store, 'one'), meta(1));
    const second = await store.commit(await produce(store, 'two'), meta(2));
    await writeFile(second.path.replace(/\.snap$/, '.meta.json'), '{"meta":');
    expect((await SnapshotStore.open({ dir })).latest()).toEqual(first);
    const { rm } = await import('node:fs/promises');
    await rm(first.path);
    expect((await SnapshotStore.open({ dir })).latest()).toBeNull();
  }));

  it('rejects a commit of a missing file or invalid meta with a coded error', () => withTempDir(async (dir) => {
    const store = await SnapshotStore.open({ dir });
    await expect(store.commit(join(dir, 'nope.snap'), meta(1))).rejects.toBeInstanceOf(StorageError);
    await expect(store.commit(await produce(store, 'x'), meta(-1))).rejects.toThrow(/invalid index/);
    expect(store.latest()).toBeNull();
  }));
});
