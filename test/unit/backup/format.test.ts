// The backup file format: header line + database bytes; every kind of damage is refused.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/backup/errors.js';
import { type BackupHeader, HEADER_BYTES_MAX, encodeHeader, readHeader, verifyBackupFile } from '../../../src/backup/format.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-backup-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const db = Buffer.from('pretend this is a DuckDB file\n\0\x01\x02 with a newline and binary bytes');
const header: BackupHeader = {
  format: 'concord-backup', version: 1, created_at: '2026-01-01T00:00:00.000Z', node_id: 'n1', index: 42, term: 3,
  membership: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: { n1: '127.0.0.1:8081' } }, schema_version: 1,
  state_checksum: '0123456789abcdef', db_bytes: db.length, db_sha256: createHash('sha256').update(db).digest('hex'),
};

function write(name: string, content: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function refusal(path: string): Promise<string> {
  const error = await verifyBackupFile(path).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(BackupError);
  expect((error as BackupError).code).toBe('CONCORD_ERR_BACKUP_CORRUPT');
  return (error as Error).message;
}

describe('backup format', () => {
  it('round-trips a header and finds the database bytes after it', async () => {
    const path = write('good.backup', Buffer.concat([encodeHeader(header), db]));
    const { header: read, dataOffset } = await verifyBackupFile(path);
    expect(read).toEqual(header);
    expect(readFileSync(path).subarray(dataOffset)).toEqual(db);
    expect((await readHeader(path)).dataOffset).toBe(dataOffset);
  });

  it('refuses a flipped byte, a truncated or padded file, a bad header and a missing file', async () => {
    const good = Buffer.concat([encodeHeader(header), db]);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] ^= 0xff;
    expect(await refusal(write('flipped.backup', flipped))).toMatch(/SHA-256/);
    expect(await refusal(write('short.backup', good.subarray(0, good.length - 1)))).toMatch(/truncated/);
    expect(await refusal(write('long.backup', Buffer.concat([good, Buffer.from('x')])))).toMatch(/truncated or padded/);
    expect(await refusal(write('garbage.backup', Buffer.from('SQLite format 3\0 ...')))).toMatch(/header line/);
    expect(await refusal(write('notjson.backup', Buffer.concat([Buffer.from('{"format":\n'), db])))).toMatch(/not JSON/);
    const wrongVersion = Buffer.from(`${JSON.stringify({ ...header, version: 2 })}\n`);
    expect(await refusal(write('v2.backup', Buffer.concat([wrongVersion, db])))).toMatch(/version/);
    const extraField = Buffer.from(`${JSON.stringify({ ...header, surprise: true })}\n`);
    expect(await refusal(write('extra.backup', Buffer.concat([extraField, db])))).toMatch(/surprise|Unrecognized/i);
    expect(await refusal(join(dir, 'does-not-exist.backup'))).toMatch(/cannot read/);
  });

  it('refuses to encode a header it could not read back', () => {
    expect(() => encodeHeader({ ...header, index: 0 })).toThrow();
    expect(() => encodeHeader({ ...header, db_sha256: 'nope' })).toThrow();
    const huge = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`node-${i}`, `127.0.0.1:${i + 1}`]));
    expect(() => encodeHeader({ ...header, membership: { ...header.membership, addresses: huge } })).toThrow(new RegExp(String(HEADER_BYTES_MAX)));
  });
});
