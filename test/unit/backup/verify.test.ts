// Restore checks the backup's database itself, not only its bytes: the rows must hash to
// the header's checksum, and so must the checksum stored with them (what a start-up takes
// without hashing the rows).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/backup/errors.js';
import { type BackupHeader, encodeHeader } from '../../../src/backup/format.js';
import { RESTORE_MARKER, restoreBackup } from '../../../src/backup/restore.js';
import { type ConcordConfig, configSchema } from '../../../src/config/schema.js';
import { CoordinatorState, encodeCommand } from '../../../src/state/index.js';
import { legacyRowHash } from '../../../src/state/legacy-row-hash.js';
import { DuckStore, SCHEMA_VERSION } from '../../../src/state/store/duck-store.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-backup-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A backup of a database with a few rows; `tamper` runs SQL on it first. Returns the file and the true checksum. */
/** `over` replaces header fields; as a function it gets the database copy (tampered already) to derive them from. */
type HeaderOver = Partial<BackupHeader> | ((copy: string) => Promise<Partial<BackupHeader>>);

async function backupOf(name: string, tamper: string | null, over: HeaderOver = {}): Promise<{ path: string; checksum: string }> {
  const dbPath = join(dir, `${name}.duckdb`);
  const state = await CoordinatorState.open({ dbPath, flushIntervalMs: 60_000 });
  const cmds = [
    { type: 'node.register' as const, id: 'a', addresses: ['a:1'], storage_capacity: 100, capabilities: {} },
    { type: 'file.register' as const, file_id: 'f', name: 'f', size: 10, chunks: [{ hash: 'h', size: 10 }] },
  ];
  await state.apply(cmds.map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: encodeCommand({ v: 1, ts: 1000, cmd }) })));
  const { checksum } = await state.copyDatabase(join(dir, `${name}.copy`));
  await state.close();
  if (tamper !== null) {
    const copy = await CoordinatorState.open({ dbPath: join(dir, `${name}.copy`), flushIntervalMs: 60_000 });
    await copy.query(tamper);
    await copy.close();
  }
  const fields = typeof over === 'function' ? await over(join(dir, `${name}.copy`)) : over;
  const db = readFileSync(join(dir, `${name}.copy`));
  const header: BackupHeader = {
    format: 'concord-backup', version: 1, created_at: '2026-01-01T00:00:00.000Z', node_id: 'n1', index: 2, term: 1,
    membership: { voters: ['n1'], learners: [], addresses: {} }, schema_version: SCHEMA_VERSION, state_checksum: checksum,
    db_bytes: db.length, db_sha256: createHash('sha256').update(db).digest('hex'), ...fields,
  };
  const path = join(dir, `${name}.backup`);
  writeFileSync(path, Buffer.concat([encodeHeader(header), db]));
  return { path, checksum };
}

const configFor = (name: string): ConcordConfig => {
  const dataDir = join(dir, `${name}-data`);
  return { ...configSchema.parse({ node_id: 'n1', enable_redundancy: false, data_dir: dataDir }), db_path: join(dataDir, 'db.duckdb') };
};

async function refusal(name: string, tamper: string): Promise<string> {
  const { path } = await backupOf(name, tamper);
  const error = await restoreBackup({ from: path, config: configFor(name), force: false }).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(BackupError);
  expect((error as BackupError).code).toBe('CONCORD_ERR_BACKUP_CORRUPT');
  return (error as Error).message;
}

describe('restore verifies the database', () => {
  it('restores an intact backup', async () => {
    const { path, checksum } = await backupOf('intact', null);
    const result = await restoreBackup({ from: path, config: configFor('intact'), force: false });
    expect(result.header.state_checksum).toBe(checksum);
    expect(result.stateChecksum).toBe(checksum);
    expect(existsSync(result.dbPath)).toBe(true);
  });

  // Version 5's layout differs only in the checksums: made with the older row hash, stored and in the header.
  const asVersion5 = "UPDATE raft_meta SET value = 5 WHERE key = 'schema_version'";
  async function version5Header(copy: string): Promise<Partial<BackupHeader>> {
    copyFileSync(copy, `${copy}.probe`); // opening migrates a file: hash the rows of a copy, keep the backup at version 5
    const store = await DuckStore.open(`${copy}.probe`, 64);
    try {
      return { schema_version: 5, state_checksum: await store.checksum(legacyRowHash) };
    } finally {
      store.close();
    }
  }

  it('restores a backup from before schema version 6 against its header, hashed the older way, and reports the new checksum', async () => {
    let header: Partial<BackupHeader> = {};
    const { path, checksum } = await backupOf('v5', asVersion5, async (copy) => (header = await version5Header(copy)));
    expect(header.state_checksum).not.toBe(checksum); // the two hashes differ, so the test tells them apart
    const result = await restoreBackup({ from: path, config: configFor('v5'), force: false });
    expect(result.stateChecksum).toBe(checksum);
    expect(JSON.parse(readFileSync(join(result.dataDir, RESTORE_MARKER), 'utf8')).state_checksum).toBe(checksum);
  });

  it('refuses a backup from before schema version 6 whose rows do not hash to its header checksum', async () => {
    const { path } = await backupOf('v5-bad', asVersion5, { schema_version: 5, state_checksum: 'fedcba9876543210' });
    const error = await restoreBackup({ from: path, config: configFor('v5-bad'), force: false }).then(() => null, (e: unknown) => e);
    expect((error as BackupError).code).toBe('CONCORD_ERR_BACKUP_CORRUPT');
    expect((error as Error).message).toMatch(/hashes to .*, its header says fedcba9876543210/);
  });

  it('refuses a database whose rows do not hash to the header checksum', async () => {
    expect(await refusal('rows', "UPDATE nodes SET used = 5 WHERE id = 'a'")).toMatch(/hashes to/);
  });

  it('refuses a database whose stored checksum differs from the header (rows intact)', async () => {
    expect(await refusal('stored', "UPDATE raft_meta SET value = value + 1 WHERE key = 'checksum_nodes'")).toMatch(/stores checksum .*, its rows hash to/);
  });
});
