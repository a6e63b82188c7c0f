// `concord backup --node host:port --out FILE [--ca CA] [--token T]`: download
// GET /api/backup into a temporary file beside FILE, verify its header, size and
// SHA-256 (and that they match the response headers), fsync, then rename it into place
// (like `etcdctl snapshot save`). A failure leaves FILE as it was and no temporary file.
// A node with TLS is reached over https with --ca, one with auth with an admin token
// (--token or $CONCORD_TOKEN), as `concord status` does (see access.ts).
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { BackupError } from '../backup/errors.js';
import { type BackupHeader, verifyBackupFile } from '../backup/format.js';
import { type NodeAccess, nodeAccess, nodeRequest } from './access.js';
import { parseEndpoints } from './status.js';
import { fsyncPath, nodeFs } from '../../raft/storage/index.js';

export interface BackupOptions {
  readonly node: string;
  readonly out: string;
  readonly consistency: string;
  readonly timeoutMs: number;
  /** https and the bearer token, from --ca and --token (else $CONCORD_TOKEN). */
  readonly access: NodeAccess;
}

export function checkBackupOptions(options: { node: string; out: string; consistency?: string; timeout?: string; ca?: string; token?: string }): BackupOptions {
  let endpoints: string[];
  try {
    endpoints = parseEndpoints([options.node]);
  } catch (error) {
    throw new BackupError('CONCORD_ERR_VALIDATION', `--node: ${(error as Error).message}`);
  }
  if (endpoints.length !== 1) throw new BackupError('CONCORD_ERR_VALIDATION', '--node takes exactly one host:port');
  const consistency = options.consistency ?? 'linearizable';
  if (consistency !== 'linearizable' && consistency !== 'stale') {
    throw new BackupError('CONCORD_ERR_VALIDATION', '--consistency must be linearizable or stale');
  }
  const timeoutMs = Number(options.timeout ?? 60_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 3_600_000) {
    throw new BackupError('CONCORD_ERR_VALIDATION', '--timeout must be an integer number of milliseconds in [100, 3600000]');
  }
  if (options.out.trim().length === 0 || options.out.endsWith('/')) throw new BackupError('CONCORD_ERR_VALIDATION', '--out must name a file');
  let access: NodeAccess;
  try {
    access = nodeAccess(options);
  } catch (error) {
    throw new BackupError('CONCORD_ERR_VALIDATION', `--ca: ${(error as Error).message}`);
  }
  return { node: endpoints[0], out: resolve(options.out), consistency, timeoutMs, access };
}

async function failure(statusCode: number, body: { text(): Promise<string> }): Promise<BackupError> {
  const text = await body.text().catch(() => '');
  let detail = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code !== undefined) detail = `${parsed.error.code}: ${parsed.error.message ?? ''}`;
  } catch {
    // not JSON: keep the text
  }
  const hint = statusCode === 401 || statusCode === 403 ? '; a backup needs an admin token: pass --token or set CONCORD_TOKEN' : '';
  return new BackupError('CONCORD_ERR_BACKUP_FAILED', `the node answered ${statusCode} (${detail})${hint}`);
}

export async function runBackup(options: BackupOptions): Promise<{ header: BackupHeader; bytes: number; path: string }> {
  const temp = join(dirname(options.out), `.${basename(options.out)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const { url, options: access } = nodeRequest(options.node, `/api/backup${options.consistency === 'stale' ? '?consistency=stale' : ''}`, options.access);
    const res = await request(url, { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, ...access });
    if (res.statusCode !== 200) throw await failure(res.statusCode, res.body);
    await pipeline(res.body, createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    const { header, dataOffset } = await verifyBackupFile(temp);
    const index = res.headers['x-concord-backup-index'];
    const sha = res.headers['x-concord-backup-sha256'];
    if (index !== String(header.index) || sha !== header.db_sha256) {
      throw new BackupError('CONCORD_ERR_BACKUP_CORRUPT', `the file's header (index ${header.index}, sha256 ${header.db_sha256}) ` +
        `does not match the response headers (index ${String(index)}, sha256 ${String(sha)})`);
    }
    await fsyncPath(temp);
    await rename(temp, options.out);
    await nodeFs.syncDirectory(dirname(options.out));
    return { header, bytes: dataOffset + header.db_bytes, path: options.out };
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof BackupError) throw error;
    throw new BackupError('CONCORD_ERR_BACKUP_FAILED', `backup from ${options.node} failed: ${(error as Error).message}`);
  }
}
