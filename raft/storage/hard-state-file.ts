// The hard state's own small file, replaced atomically whenever term or vote
// changes. The WAL also carries hard-state records (commit moves with every
// Ready and rides the group-commit fsync); on open the newer of the two wins.

import { readFile } from 'node:fs/promises';
import type { HardState } from '../core/types.js';
import { crc32c } from './crc32c.js';
import { StorageError } from './errors.js';

export const HARD_STATE_FILE = 'hardstate';

/** Format: crc32c of the JSON as 8 hex digits, a space, then the JSON. */
export function encodeHardStateFile(hs: HardState): Buffer {
  const json = JSON.stringify({ term: hs.term, vote: hs.vote, commit: hs.commit });
  const crc = crc32c(Buffer.from(json)).toString(16).padStart(8, '0');
  return Buffer.from(`${crc} ${json}`);
}

export async function readHardStateFile(path: string): Promise<HardState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageError('CONCORD_ERR_STORAGE_IO', `cannot read the hard state: ${(error as Error).message}`, { file: path });
  }
  const json = text.slice(9);
  if (text[8] !== ' ' || crc32c(Buffer.from(json)).toString(16).padStart(8, '0') !== text.slice(0, 8)) {
    throw new StorageError('CONCORD_ERR_STORAGE_CORRUPT', 'hard state file checksum mismatch', { file: path, offset: 0 });
  }
  const hs = JSON.parse(json) as HardState;
  if (!Number.isSafeInteger(hs.term) || !Number.isSafeInteger(hs.commit) || (hs.vote !== null && typeof hs.vote !== 'string')) {
    throw new StorageError('CONCORD_ERR_STORAGE_CORRUPT', 'hard state file has invalid fields', { file: path, offset: 0 });
  }
  return hs;
}

/** Merge the file's hard state with the WAL's: higher term wins; same term keeps the higher commit. */
export function newerHardState(file: HardState | null, wal: HardState): HardState {
  if (file === null || wal.term > file.term) return wal;
  if (file.term > wal.term) return file;
  return { term: wal.term, vote: wal.vote ?? file.vote, commit: Math.max(wal.commit, file.commit) };
}
