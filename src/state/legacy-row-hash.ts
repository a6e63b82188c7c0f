// The row hash of schema versions up to 5: the first 64 bits of SHA-256 over
// "table\0key\0" and the row's JSON text. Kept only so that a restore can check a backup
// made by those versions against its header's checksum (src/backup/restore.ts); the
// state itself uses row-hash.ts.
import { hash } from 'node:crypto';

export function legacyRowHash(table: string, key: string, row: unknown): bigint {
  return hash('sha256', `${table}\0${key}\0${JSON.stringify(row)}`, 'buffer').readBigUInt64BE(0);
}
