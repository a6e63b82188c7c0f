// The backup file format (version 1): one line of JSON (the header), a newline,
// then exactly `db_bytes` bytes of a DuckDB database file whose SHA-256 is
// `db_sha256`. Nothing follows. The header says where the copy came from: the
// applied index it holds, the term of that index when the node still knew it,
// the membership of the old cluster, the schema version and the model checksum
// at that index (what `GET /api/health/state_checksum` reports after a restore).
//
//   {"format":"concord-backup","version":1,...,"db_bytes":N,"db_sha256":"…"}\n
//   <N bytes of DuckDB>
import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import { BackupError } from './errors.js';
import { fileChecksum } from '../../raft/storage/index.js';

export const BACKUP_FORMAT = 'concord-backup';
export const BACKUP_VERSION = 1;
/** A header longer than this is not a Concord backup. */
export const HEADER_BYTES_MAX = 64 * 1024;

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`), `${length} lowercase hex digits`);
const index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const backupHeaderSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  created_at: z.string().min(1).max(64),
  node_id: z.string().min(1).max(128),
  index: index.min(1),
  /** Term of `index` when the node still held that entry or its snapshot; null otherwise. */
  term: index.nullable(),
  membership: z.object({
    voters: z.array(z.string().min(1).max(128)).max(64),
    learners: z.array(z.string().min(1).max(128)).max(64),
    addresses: z.record(z.string(), z.string().max(300)),
  }).strict(),
  schema_version: z.number().int().min(1),
  /** Model checksum at `index` (16 hex digits). */
  state_checksum: hex(16),
  db_bytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  db_sha256: hex(64),
}).strict();

export type BackupHeader = z.output<typeof backupHeaderSchema>;

export function encodeHeader(header: BackupHeader): Buffer {
  const line = Buffer.from(`${JSON.stringify(backupHeaderSchema.parse(header))}\n`, 'utf8');
  if (line.length > HEADER_BYTES_MAX) throw new RangeError(`backup header of ${line.length} bytes exceeds ${HEADER_BYTES_MAX}`);
  return line;
}

/** Parse the header line at the start of `path`; returns it and where the database bytes begin. */
export async function readHeader(path: string): Promise<{ header: BackupHeader; dataOffset: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `cannot read ${path}: ${(error as Error).message}`);
  }
  let prefix: Buffer;
  try {
    const buffer = Buffer.alloc(HEADER_BYTES_MAX);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    prefix = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const newline = prefix.indexOf(0x0a);
  if (newline < 0) throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `${path} does not start with a Concord backup header line`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(prefix.subarray(0, newline).toString('utf8'));
  } catch {
    throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `${path}: the header line is not JSON`);
  }
  const result = backupHeaderSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(header)'}: ${i.message}`).join('; ');
    throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `${path}: not a version ${BACKUP_VERSION} Concord backup header (${problems})`);
  }
  return { header: result.data, dataOffset: newline + 1 };
}

/** Check the header, the size and the SHA-256 of the database bytes. */
export async function verifyBackupFile(path: string): Promise<{ header: BackupHeader; dataOffset: number }> {
  const { header, dataOffset } = await readHeader(path);
  const size = (await stat(path)).size;
  if (size !== dataOffset + header.db_bytes) {
    throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT',
      `${path} holds ${size - dataOffset} database bytes but its header says ${header.db_bytes} (truncated or padded)`);
  }
  const digest = await fileChecksum(path, dataOffset);
  if (digest !== header.db_sha256) {
    throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `${path}: SHA-256 of the database is ${digest}, the header says ${header.db_sha256}`);
  }
  return { header, dataOffset };
}
