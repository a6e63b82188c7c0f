// Taking a backup on a running node: a consistent copy of the DuckDB database at
// a flushed applied index (CoordinatorState.copyDatabase), hashed, with a header
// describing it. The copy lives in `<data_dir>/backup-tmp/` until the caller has
// streamed it and calls release().
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RaftNodeHandle } from '../../raft/node-api.js';
import type { ConcordConfig } from '../config/index.js';
import type { CoordinatorState } from '../state/coordinator-state.js';
import { SCHEMA_VERSION } from '../state/store/duck-store.js';
import { BackupError } from './errors.js';
import { BACKUP_FORMAT, BACKUP_VERSION, type BackupHeader, encodeHeader } from './format.js';
import { fileChecksum } from '../../raft/storage/index.js';

export interface TakenBackup {
  readonly header: BackupHeader;
  readonly headerBytes: Buffer;
  /** The database copy; deleted by release(). */
  readonly dbPath: string;
  release(): Promise<void>;
}

export const backupTempDir = (config: Pick<ConcordConfig, 'data_dir'>) => join(config.data_dir, 'backup-tmp');

/** Remove copies left behind by a crash during an earlier backup. */
export async function removeStaleBackupCopies(config: Pick<ConcordConfig, 'data_dir'>): Promise<number> {
  const dir = backupTempDir(config);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) await rm(join(dir, name), { force: true });
  return names.length;
}

/** Term of `index` if this node still knows it (its in-memory log or its newest snapshot). */
function termOf(raft: RaftNodeHandle, index: number): number | null {
  const snapshot = raft.latestSnapshot();
  if (snapshot !== null && snapshot.index === index) return snapshot.term;
  const [entry] = raft.logEntries(index, 1);
  return entry !== undefined && entry.index === index ? entry.term : null;
}

export async function takeBackup(parts: { config: Readonly<ConcordConfig>; raft: RaftNodeHandle; state: CoordinatorState }): Promise<TakenBackup> {
  const { config, raft, state } = parts;
  const dir = backupTempDir(config);
  await mkdir(dir, { recursive: true });
  const dbPath = join(dir, `backup-${randomBytes(6).toString('hex')}.duckdb`);
  const release = () => rm(dbPath, { force: true });
  try {
    const copy = await state.copyDatabase(dbPath);
    if (copy.index < 1) throw new BackupError('CONCORD_ERR_BACKUP_FAILED', 'this node has applied nothing yet; there is nothing to back up');
    const status = raft.status();
    const addresses: Record<string, string> = { [config.node_id]: `${config.host}:${config.port}` };
    for (const peer of status.peers) addresses[peer.id] = `${peer.host}:${peer.port}`;
    const header: BackupHeader = {
      format: BACKUP_FORMAT, version: BACKUP_VERSION, created_at: new Date().toISOString(), node_id: config.node_id,
      index: copy.index, term: termOf(raft, copy.index),
      membership: { voters: [...status.confState.voters], learners: [...status.confState.learners], addresses },
      schema_version: SCHEMA_VERSION, state_checksum: copy.checksum, db_bytes: copy.bytes, db_sha256: await fileChecksum(dbPath),
    };
    return { header, headerBytes: encodeHeader(header), dbPath, release };
  } catch (error) {
    await release();
    throw error;
  }
}
