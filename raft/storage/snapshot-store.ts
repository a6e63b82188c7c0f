// Snapshot files: written under a temporary name, checksummed (SHA-256),
// fsynced, renamed into place with a metadata file beside them; older ones
// pruned. A file whose checksum does not match its metadata is reported and
// ignored, never used.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SnapshotMeta } from '../core/types.js';
import { parseHostPort } from '../host-port.js';
import { StorageError, fromFsError } from './errors.js';
import { fsyncPath } from './fs-layer.js';

export interface SnapshotRecord {
  readonly meta: SnapshotMeta;
  readonly path: string;
  readonly bytes: number;
  readonly checksum: string;
  /** "host:port" of the configuration's members when the snapshot was taken. */
  readonly addresses: Readonly<Record<string, string>>;
}

const ADDRESSES_MAX = 1000;

/** The member addresses of a snapshot, or null if `value` is not a map of id → "host:port". */
export function parseAddresses(value: unknown): Record<string, string> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > ADDRESSES_MAX) return null;
  const out: Record<string, string> = {};
  for (const [id, address] of entries) {
    if (id.length === 0 || id.length > 128 || typeof address !== 'string' || parseHostPort(address) === null) return null;
    out[id] = address;
  }
  return out;
}

// Index first, so that name order is snapshot order.
const nameOf = (meta: SnapshotMeta) =>
  `snap-${meta.index.toString(16).padStart(16, '0')}-${meta.term.toString(16).padStart(16, '0')}`;

/** SHA-256 (hex) of the file's bytes from `start` on. */
export async function fileChecksum(path: string, start = 0): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class SnapshotStore {
  readonly #dir: string;
  readonly #keep: number;
  readonly #logger: Logger | undefined;
  #latest: SnapshotRecord | null;

  private constructor(dir: string, keep: number, logger: Logger | undefined, latest: SnapshotRecord | null) {
    this.#dir = dir;
    this.#keep = keep;
    this.#logger = logger;
    this.#latest = latest;
  }

  static async open(options: { dir: string; keep?: number; logger?: Logger }): Promise<SnapshotStore> {
    await mkdir(options.dir, { recursive: true });
    const metas = (await readdir(options.dir)).filter((n) => n.endsWith('.meta.json')).sort().reverse();
    let latest: SnapshotRecord | null = null;
    for (const name of metas) {
      const record = await loadRecord(options.dir, name);
      if (record !== null && (await fileChecksum(record.path).catch(() => null)) === record.checksum) {
        latest = record;
        break;
      }
      options.logger?.error({ file: join(options.dir, name) }, 'snapshot file is missing or its checksum does not match; ignoring it');
    }
    return new SnapshotStore(options.dir, options.keep ?? 2, options.logger, latest);
  }

  newTempPath(): string {
    return join(this.#dir, `tmp-${randomBytes(6).toString('hex')}.snap`);
  }

  latest(): SnapshotRecord | null {
    return this.#latest;
  }

  /** Adopt the file at `tempPath` as the snapshot described by `meta`, with the members' addresses. */
  async commit(tempPath: string, meta: SnapshotMeta, addresses: Readonly<Record<string, string>> = {}): Promise<SnapshotRecord> {
    if (!Number.isSafeInteger(meta.index) || meta.index < 0 || !Number.isSafeInteger(meta.term) || meta.term < 0) {
      throw new RangeError(`snapshot meta has an invalid index or term: ${meta.index}/${meta.term}`);
    }
    const checked = parseAddresses(addresses);
    if (checked === null) throw new RangeError('snapshot member addresses must map ids to "host:port"');
    try {
      return await this.#commit(tempPath, meta, checked);
    } catch (error) {
      throw error instanceof StorageError || error instanceof RangeError ? error : fromFsError(error, tempPath);
    }
  }

  async #commit(tempPath: string, meta: SnapshotMeta, addresses: Record<string, string>): Promise<SnapshotRecord> {
    const info = await stat(tempPath).catch(() => null);
    if (info === null) throw new StorageError('CONCORD_ERR_STORAGE_IO', 'snapshot file does not exist', { file: tempPath });
    const checksum = await fileChecksum(tempPath);
    await fsyncPath(tempPath);
    const base = nameOf(meta);
    const path = join(this.#dir, `${base}.snap`);
    await rename(tempPath, path);
    const record: SnapshotRecord = { meta, path, bytes: info.size, checksum, addresses };
    const metaTemp = join(this.#dir, `${base}.meta.json.tmp`);
    await writeFile(metaTemp, JSON.stringify({ meta, bytes: info.size, checksum, addresses }));
    await fsyncPath(metaTemp);
    await rename(metaTemp, join(this.#dir, `${base}.meta.json`));
    await fsyncPath(this.#dir).catch(() => undefined);
    if (this.#latest === null || meta.index >= this.#latest.meta.index) this.#latest = record;
    await this.#prune();
    return record;
  }

  async verify(record: SnapshotRecord): Promise<boolean> {
    return (await fileChecksum(record.path).catch(() => '')) === record.checksum;
  }

  async #prune(): Promise<void> {
    const metas = (await readdir(this.#dir)).filter((n) => n.endsWith('.meta.json')).sort().reverse();
    for (const name of metas.slice(this.#keep)) {
      const base = name.slice(0, -'.meta.json'.length);
      if (this.#latest !== null && this.#latest.path.endsWith(`${base}.snap`)) continue;
      await rm(join(this.#dir, name), { force: true });
      await rm(join(this.#dir, `${base}.snap`), { force: true });
      this.#logger?.debug({ snapshot: base }, 'pruned old snapshot');
    }
    for (const name of await readdir(this.#dir)) {
      if (name.startsWith('tmp-') && name.endsWith('.snap') && this.#latest?.path !== join(this.#dir, name)) {
        // Temporary files older than this commit are abandoned attempts.
        const info = await stat(join(this.#dir, name)).catch(() => null);
        if (info !== null && Date.now() - info.mtimeMs > 60_000) await rm(join(this.#dir, name), { force: true });
      }
    }
  }
}

async function loadRecord(dir: string, name: string): Promise<SnapshotRecord | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as { meta: SnapshotMeta; bytes: number; checksum: string; addresses?: unknown };
    const meta = parsed.meta;
    if (!Number.isInteger(meta?.index) || !Number.isInteger(meta?.term) || typeof parsed.checksum !== 'string') return null;
    // Files written before addresses were kept have none; a malformed map makes the record unusable.
    const addresses = parsed.addresses === undefined ? {} : parseAddresses(parsed.addresses);
    if (addresses === null) return null;
    return { meta, path: join(dir, `${name.slice(0, -'.meta.json'.length)}.snap`), bytes: parsed.bytes, checksum: parsed.checksum, addresses };
  } catch {
    return null;
  }
}
