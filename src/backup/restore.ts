// Offline restore (the shape of `etcdutl snapshot restore`): build a node's data
// dir from a backup file so that `concord server --config …` starts from it.
//
// The backup's database sits at applied index N of the OLD cluster. The new node
// gets (raft/driver/seed.ts) a snapshot at index N with term RESTORED_TERM and the
// NEW membership from its config (itself and its peers, all voters), a WAL holding
// only that snapshot marker and hard state {term: RESTORED_TERM, vote: none,
// commit: N}, and the database at db_path. Its log therefore starts at N + 1 and
// the first leader of the new cluster is elected in term RESTORED_TERM + 1. Every
// member of the new cluster must be restored from the same backup file (same N,
// same term, same bytes) and their configs must list the same members; nodes of
// the old cluster must not rejoin it.
//
// Nothing is deleted: existing data is refused unless `force`, and then moved aside
// to `<data_dir>.pre-restore-<time>` (and `<db_path>.pre-restore-<time>` when the
// database lives outside data_dir). Files are staged in `<data_dir>/.restore-*` and
// renamed into place; the Raft dir is renamed first, so a crash before the database
// is in place still starts correctly (start-up restores the database from the
// snapshot file).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { ConfState } from '../../raft/core/types.js';
import { seedRaftStorage } from '../../raft/driver/seed.js';
import type { ConcordConfig } from '../config/index.js';
import { raftDataDir } from '../server/paths.js';
import { legacyRowHash } from '../state/legacy-row-hash.js';
import { rowHash } from '../state/row-hash.js';
import { DuckStore, ROW_HASH_SINCE_VERSION, SCHEMA_VERSION } from '../state/store/duck-store.js';
import { BackupError } from './errors.js';
import { type BackupHeader, verifyBackupFile } from './format.js';
import { fsyncPath, nodeFs } from '../../raft/storage/index.js';

/** Term of the seeded snapshot and hard state: the new cluster's history starts over. */
export const RESTORED_TERM = 1;
export const RESTORE_MARKER = 'restored-from.json';

export interface RestoreOptions {
  readonly from: string;
  readonly config: Readonly<ConcordConfig>;
  readonly force: boolean;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

export interface RestoreResult {
  readonly header: BackupHeader;
  /** The restored state's checksum: the header's, or for a backup from before schema version 6 the rows' own under today's row hash. */
  readonly stateChecksum: string;
  readonly confState: ConfState;
  readonly dataDir: string;
  readonly dbPath: string;
  /** Where old data was moved (with `force`). */
  readonly movedAside: readonly string[];
}

export function membershipOf(config: Pick<ConcordConfig, 'node_id' | 'peers' | 'enable_redundancy'>): ConfState {
  const peers = config.enable_redundancy ? config.peers.map((p) => p.id) : [];
  return { voters: [config.node_id, ...peers].sort(), learners: [] };
}

const exists = (path: string) => stat(path).then(() => true, () => false);

/** Files under `dir` (recursively), at most `limit`. */
async function filesUnder(dir: string, limit = 8): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (out.length >= limit) break;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...await filesUnder(path, limit - out.length));
    else out.push(path);
  }
  return out;
}

/** What of this node's state already exists: Raft files, the database and its WAL. */
export async function existingNodeData(config: Pick<ConcordConfig, 'data_dir' | 'db_path'>): Promise<string[]> {
  const found = await filesUnder(raftDataDir(config.data_dir));
  for (const path of [config.db_path, `${config.db_path}.wal`]) if (await exists(path)) found.push(path);
  return found;
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel);
}

async function extract(from: string, offset: number, to: string): Promise<void> {
  await pipeline(createReadStream(from, { start: offset }), createWriteStream(to, { flags: 'wx', mode: 0o600 }));
  await fsyncPath(to);
}

/**
 * The database must hold the header's index and hash to its state checksum; returns the
 * state checksum it holds. A backup from before schema version 6 (ROW_HASH_SINCE_VERSION)
 * carries a checksum of the older row hash: its rows are hashed that way for the header,
 * and its state checksum under today's hash is the one the migration on open just stored
 * from the same rows.
 */
async function verifyDatabase(path: string, header: BackupHeader, memoryLimitMb: number): Promise<string> {
  let store: DuckStore;
  try {
    store = await DuckStore.open(path, memoryLimitMb);
  } catch (error) {
    throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `the backup's database does not open: ${(error as Error).message}`);
  }
  try {
    const applied = await store.appliedIndex();
    if (applied !== header.index) {
      throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `the backup's database holds applied index ${applied}, its header says ${header.index}`);
    }
    const current = header.schema_version >= ROW_HASH_SINCE_VERSION;
    const checksum = await store.checksum(current ? rowHash : legacyRowHash);
    if (checksum !== header.state_checksum) {
      throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `the backup's database hashes to ${checksum}, its header says ${header.state_checksum}`);
    }
    const stored = await store.storedChecksum();
    if (!current) return stored;
    // A start-up takes the checksum stored with the rows instead of hashing them: it must agree too.
    if (stored !== checksum) {
      throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `the backup's database stores checksum ${stored}, its rows hash to ${checksum}`);
    }
    return checksum;
  } finally {
    store.close();
  }
}

interface Aside { readonly from: string; readonly to: string }

async function moveAside(config: Pick<ConcordConfig, 'data_dir' | 'db_path'>, stamp: string): Promise<Aside[]> {
  const moves: Aside[] = [];
  const dataDir = resolve(config.data_dir);
  if (await exists(dataDir)) moves.push({ from: dataDir, to: `${dataDir}.pre-restore-${stamp}` });
  if (!isInside(dataDir, config.db_path)) {
    for (const path of [resolve(config.db_path), `${resolve(config.db_path)}.wal`]) {
      if (await exists(path)) moves.push({ from: path, to: `${path}.pre-restore-${stamp}` });
    }
  }
  for (const [i, move] of moves.entries()) {
    if (await exists(move.to)) throw new BackupError('CONCORD_ERR_RESTORE_REFUSED', `${move.to} already exists; retry in a moment`);
    try {
      await rename(move.from, move.to);
    } catch (error) {
      await moveBack(moves.slice(0, i));
      throw new BackupError('CONCORD_ERR_RESTORE_REFUSED', `cannot move ${move.from} aside: ${(error as Error).message}`);
    }
  }
  return moves;
}

/** Undo moveAside when the restore failed before anything new was put in place. */
async function moveBack(moves: readonly Aside[]): Promise<void> {
  for (const move of [...moves].reverse()) {
    // Only an empty directory of ours can be in the way; rmdir refuses anything else.
    await rmdir(move.from).catch(() => undefined);
    await rename(move.to, move.from).catch(() => undefined);
  }
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { config, logger } = options;
  const { header, dataOffset } = await verifyBackupFile(options.from);
  if (header.schema_version > SCHEMA_VERSION) {
    throw new BackupError('CONCORD_ERR_VALIDATION', `the backup has schema version ${header.schema_version}; this program reads up to ${SCHEMA_VERSION}`);
  }
  const existing = await existingNodeData(config);
  if (existing.length > 0 && !options.force) {
    throw new BackupError('CONCORD_ERR_RESTORE_REFUSED',
      `node ${config.node_id} already has data (${existing.join(', ')}); stop it and pass --force to move the data aside`);
  }
  const stamp = (options.now ?? (() => new Date()))().toISOString().replace(/[:.]/g, '-');
  const moved = options.force ? await moveAside(config, stamp) : [];
  for (const move of moved) logger?.warn({ from: move.from, to: move.to }, 'moved existing data aside');
  const confState = membershipOf(config);
  const dataDir = resolve(config.data_dir);
  const dbPath = resolve(config.db_path);
  const staging = join(dataDir, `.restore-${randomBytes(6).toString('hex')}`);
  let committed = false;
  try {
    await mkdir(staging, { recursive: true });
    const stagedRaft = join(staging, 'raft');
    const record = await seedRaftStorage({
      dataDir: stagedRaft, logger,
      meta: { index: header.index, term: RESTORED_TERM, confState },
      writeSnapshotFile: (path) => extract(options.from, dataOffset, path),
    });
    if (record.checksum !== header.db_sha256) {
      throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `${options.from} changed while it was being restored`);
    }
    const stagedDb = join(staging, 'db.duckdb');
    await copyFile(record.path, stagedDb);
    const stateChecksum = await verifyDatabase(stagedDb, header, config.db_memory_limit);
    await fsyncPath(stagedDb);
    // The commit point: with the Raft dir in place, start-up has everything it needs.
    const raftDir = raftDataDir(dataDir);
    await rm(raftDir, { recursive: true, force: true }); // holds no file (checked above), at most empty dirs
    await rename(stagedRaft, raftDir);
    await nodeFs.syncDirectory(dataDir);
    committed = true;
    await mkdir(dirname(dbPath), { recursive: true });
    if (await exists(`${stagedDb}.wal`)) await rename(`${stagedDb}.wal`, `${dbPath}.wal`);
    await rename(stagedDb, dbPath);
    await nodeFs.syncDirectory(dirname(dbPath));
    await writeFile(join(dataDir, RESTORE_MARKER), `${JSON.stringify({
      backup: resolve(options.from), restored_at: new Date().toISOString(), index: header.index, term_in_old_cluster: header.term,
      db_sha256: header.db_sha256, state_checksum: stateChecksum, restored_term: RESTORED_TERM, voters: confState.voters,
      old_membership: header.membership, moved_aside: moved.map((m) => m.to),
    }, null, 2)}\n`);
    await rm(staging, { recursive: true, force: true });
    logger?.info({ index: header.index, voters: confState.voters, dataDir, dbPath }, 'restored from backup');
    return { header, stateChecksum, confState, dataDir, dbPath, movedAside: moved.map((m) => m.to) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (!committed) await moveBack(moved);
    if (error instanceof BackupError) throw error;
    throw new BackupError('CONCORD_ERR_BACKUP_FAILED', `restore failed${committed ? ' after the Raft data was in place' : ''}: ${(error as Error).message}`);
  }
}
