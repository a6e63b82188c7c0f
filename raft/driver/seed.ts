// Seeding a node's Raft storage from a snapshot, for an offline restore (the
// shape of `etcdutl snapshot restore`): the snapshot store gets the file as its
// newest snapshot, and the WAL gets an installed-snapshot marker plus a hard
// state (term = meta.term, no vote, commit = meta.index). Start-up then treats it
// like any snapshot (recover.ts): the log begins after meta.index, the state
// machine is restored from the file if it is behind, and the membership is
// meta.confState. Every member of the new cluster must be seeded with the same
// meta and file, or their logs disagree at meta.index.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SnapshotMeta } from '../core/types.js';
import { RaftLogStore, SnapshotStore, type SnapshotRecord } from '../storage/index.js';

/** Where a node keeps its WAL and its snapshot files, under its Raft data dir. */
export const WAL_DIR = 'wal';
export const SNAPSHOT_DIR = 'snapshots';

export interface SeedOptions {
  /** The node's Raft data dir (what createRaftNode gets as `dataDir`). */
  readonly dataDir: string;
  readonly meta: SnapshotMeta;
  /** Write the snapshot's bytes to `path` (a new file in the snapshot dir). */
  writeSnapshotFile(path: string): Promise<void>;
  readonly logger?: Logger;
}

export function seedMetaProblem(meta: SnapshotMeta): string | null {
  if (!Number.isSafeInteger(meta.index) || meta.index < 1) return `index must be a positive integer, got ${meta.index}`;
  if (!Number.isSafeInteger(meta.term) || meta.term < 1) return `term must be a positive integer, got ${meta.term}`;
  const { voters, learners } = meta.confState;
  if (voters.length === 0) return 'the membership needs at least one voter';
  if (new Set(voters).size !== voters.length || new Set(learners).size !== learners.length) return 'the membership lists a member twice';
  if (learners.some((id) => voters.includes(id))) return 'a member cannot be both voter and learner';
  return null;
}

async function holdsFiles(dir: string): Promise<boolean> {
  return (await readdir(dir).catch(() => [] as string[])).length > 0;
}

export async function seedRaftStorage(options: SeedOptions): Promise<SnapshotRecord> {
  const problem = seedMetaProblem(options.meta);
  if (problem !== null) throw new RangeError(`cannot seed from this snapshot: ${problem}`);
  const walDir = join(options.dataDir, WAL_DIR);
  const snapshotDir = join(options.dataDir, SNAPSHOT_DIR);
  if ((await holdsFiles(walDir)) || (await holdsFiles(snapshotDir))) {
    throw new RangeError(`${options.dataDir} already holds Raft data; seed only an empty directory`);
  }
  const snapshots = await SnapshotStore.open({ dir: snapshotDir, logger: options.logger });
  const temp = snapshots.newTempPath();
  await options.writeSnapshotFile(temp);
  const record = await snapshots.commit(temp, options.meta);
  const wal = await RaftLogStore.open({ dir: walDir, logger: options.logger });
  try {
    await wal.persist({ hardState: { term: options.meta.term, vote: null, commit: options.meta.index }, entries: [], snapshot: options.meta });
  } finally {
    await wal.close();
  }
  return record;
}
