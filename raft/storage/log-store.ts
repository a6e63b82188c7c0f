// The write-ahead log: append-only segment files of CRC-framed records holding
// entries, hard state and snapshot markers. One fdatasync covers every record
// queued since the previous one (group commit). See README.md for the format.

import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Entry, HardState, SnapshotMeta } from '../core/types.js';
import { StorageError, fromFsError } from './errors.js';
import { RecordType, encodeEntry, encodeHardState, encodeSnapshotMarker, readRecord } from './record.js';

export interface LoadedLog {
  hardState: HardState;
  snapshot: SnapshotMeta | null;
  entries: Entry[];
  tornTailBytes: number;
}

export interface LogUpdate {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: SnapshotMeta | null;
}

export interface LogStats {
  segments: number; bytes: number; firstIndex: number; lastIndex: number; fsyncs: number;
  entriesSynced: number; lastFsyncMs: number; healthy: boolean; error: { code: string; message: string } | null;
}

const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
const segmentName = (sequence: number) => `wal-${sequence.toString(16).padStart(16, '0')}.log`;

/** In-memory image of what the log holds, rebuilt by replaying records. */
class LogImage {
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  snapshot: SnapshotMeta | null = null;
  entries: Entry[] = [];

  apply(update: LogUpdate): void {
    if (update.snapshot !== null) this.#snapshot(update.snapshot);
    if (update.entries.length > 0) this.#entries(update.entries);
    if (update.hardState !== null) this.hardState = update.hardState;
  }

  offset(): number {
    return this.entries.length > 0 ? this.entries[0].index - 1 : (this.snapshot?.index ?? 0);
  }

  lastIndex(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].index : (this.snapshot?.index ?? 0);
  }

  #snapshot(meta: SnapshotMeta): void {
    const at = this.entries.find((e) => e.index === meta.index);
    // Fig. 13 rule 7: keep what follows only if the log agrees at the snapshot point.
    this.entries = at !== undefined && at.term === meta.term ? this.entries.filter((e) => e.index > meta.index) : [];
    this.snapshot = meta;
  }

  #entries(entries: readonly Entry[]): void {
    const first = entries[0].index;
    if (this.entries.length > 0 && first <= this.lastIndex()) {
      this.entries = this.entries.filter((e) => e.index < first);
    }
    this.entries.push(...entries);
  }
}

export class RaftLogStore {
  readonly #dir: string;
  readonly #segmentBytesMax: number;
  readonly #logger: Logger | undefined;
  readonly #image: LogImage;
  readonly #loaded: LoadedLog;
  #segments: number[];
  #file: FileHandle | null = null;
  #fileBytes = 0;
  #otherBytes = 0;
  #queue: { buffers: Buffer[]; update: LogUpdate; resolve: () => void; reject: (e: Error) => void }[] = [];
  #flushing = false;
  #error: StorageError | null = null;
  #fsyncs = 0;
  #entriesSynced = 0;
  #lastFsyncMs = 0;
  #closed = false;

  private constructor(dir: string, segmentBytesMax: number, logger: Logger | undefined, image: LogImage, segments: number[], torn: number) {
    this.#dir = dir;
    this.#segmentBytesMax = segmentBytesMax;
    this.#logger = logger;
    this.#image = image;
    this.#segments = segments;
    this.#loaded = { hardState: image.hardState, snapshot: image.snapshot, entries: [...image.entries], tornTailBytes: torn };
  }

  static async open(options: { dir: string; segmentBytesMax?: number; logger?: Logger }): Promise<RaftLogStore> {
    await mkdir(options.dir, { recursive: true });
    const names = (await readdir(options.dir)).filter((n) => /^wal-[0-9a-f]{16}\.log$/.test(n)).sort();
    const segments = names.map((n) => parseInt(n.slice(4, 20), 16));
    const image = new LogImage();
    let torn = 0;
    let otherBytes = 0;
    let lastBytes = 0;
    for (let i = 0; i < names.length; i++) {
      const path = join(options.dir, names[i]);
      const result = await replaySegment(path, image, i === names.length - 1);
      torn += result.tornBytes;
      if (result.tornBytes > 0) {
        options.logger?.warn({ file: path, bytes: result.tornBytes }, 'truncating a torn tail of the write-ahead log');
        await truncate(path, result.goodBytes);
      }
      if (i === names.length - 1) lastBytes = result.goodBytes;
      else otherBytes += result.goodBytes;
    }
    if (image.hardState.commit > image.lastIndex()) {
      throw new StorageError('CONCORD_ERR_STORAGE_CORRUPT',
        `hard state commit ${image.hardState.commit} is beyond the last log index ${image.lastIndex()} (lost writes?)`, { file: options.dir });
    }
    const store = new RaftLogStore(options.dir, options.segmentBytesMax ?? SEGMENT_BYTES_DEFAULT, options.logger, image, segments, torn);
    store.#otherBytes = otherBytes;
    store.#fileBytes = lastBytes;
    return store;
  }

  loaded(): LoadedLog {
    return this.#loaded;
  }

  /** Persist one Ready's durable parts; resolves once fdatasync'd. */
  persist(update: LogUpdate): Promise<void> {
    if (this.#closed) return Promise.reject(new StorageError('CONCORD_ERR_STORAGE_IO', 'log store is closed'));
    if (this.#error !== null) return Promise.reject(this.#error);
    const buffers: Buffer[] = [];
    if (update.snapshot !== null) buffers.push(encodeSnapshotMarker(update.snapshot));
    for (const entry of update.entries) buffers.push(encodeEntry(entry));
    if (update.hardState !== null) buffers.push(encodeHardState(update.hardState));
    return new Promise((resolve, reject) => {
      this.#queue.push({ buffers, update, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.#writeBatch(batch.flatMap((b) => b.buffers));
          for (const item of batch) this.#image.apply(item.update);
          this.#entriesSynced += batch.reduce((n, b) => n + b.update.entries.length, 0);
          for (const item of batch) item.resolve();
        } catch (error) {
          this.#error = error instanceof StorageError ? error : fromFsError(error, this.#currentPath());
          this.#logger?.error({ err: this.#error }, 'write-ahead log write failed');
          for (const item of [...batch, ...this.#queue]) item.reject(this.#error);
          this.#queue = [];
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #writeBatch(buffers: Buffer[]): Promise<void> {
    if (buffers.length === 0) return;
    const data = Buffer.concat(buffers);
    if (this.#file === null || this.#fileBytes + data.length > this.#segmentBytesMax) await this.#rotate();
    const started = performance.now();
    const file = this.#file!;
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await file.write(data, written, data.length - written, this.#fileBytes + written);
      written += bytesWritten;
    }
    await file.datasync();
    this.#fileBytes += data.length;
    this.#fsyncs++;
    this.#lastFsyncMs = performance.now() - started;
  }

  #currentPath(): string {
    const last = this.#segments[this.#segments.length - 1] ?? 0;
    return join(this.#dir, segmentName(last));
  }

  /** Open the last segment for appending, or start a new one when it is full or absent. */
  async #rotate(): Promise<void> {
    if (this.#file !== null) {
      await this.#file.close();
      this.#file = null;
      this.#otherBytes += this.#fileBytes;
      this.#segments.push((this.#segments[this.#segments.length - 1] ?? 0) + 1);
      this.#fileBytes = 0;
    } else if (this.#segments.length === 0 || this.#fileBytes >= this.#segmentBytesMax) {
      if (this.#segments.length > 0) this.#otherBytes += this.#fileBytes;
      this.#segments.push((this.#segments[this.#segments.length - 1] ?? 0) + 1);
      this.#fileBytes = 0;
    }
    this.#file = await open(this.#currentPath(), 'a+');
    syncDirectory(this.#dir);
  }

  /**
   * Drop entries ≤ the snapshot: write a fresh segment holding the snapshot
   * marker, the hard state and the entries after it, then delete older segments.
   */
  async compact(throughIndex: number, snapshot: SnapshotMeta): Promise<void> {
    if (this.#error !== null) throw this.#error;
    await this.#drain();
    this.#image.apply({ snapshot, entries: [], hardState: null });
    void throughIndex;
    const buffers = [encodeSnapshotMarker(snapshot), ...this.#image.entries.map(encodeEntry), encodeHardState(this.#image.hardState)];
    const old = [...this.#segments];
    if (this.#file !== null) await this.#file.close();
    this.#file = null;
    this.#segments.push((this.#segments[this.#segments.length - 1] ?? 0) + 1);
    this.#fileBytes = 0;
    this.#file = await open(this.#currentPath(), 'a+');
    await this.#writeBatch(buffers);
    syncDirectory(this.#dir);
    for (const sequence of old) await rm(join(this.#dir, segmentName(sequence)), { force: true });
    this.#segments = this.#segments.filter((s) => !old.includes(s));
    this.#otherBytes = 0;
    syncDirectory(this.#dir);
  }

  async #drain(): Promise<void> {
    for (let i = 0; i < 10_000 && (this.#flushing || this.#queue.length > 0); i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** After an I/O error: cut the segment back to its last good byte and accept writes again. */
  async recover(): Promise<void> {
    if (this.#error === null) return;
    if (this.#file !== null) {
      await this.#file.truncate(this.#fileBytes).catch(() => undefined);
    }
    this.#error = null;
    this.#logger?.info('write-ahead log accepting writes again');
  }

  stats(): LogStats {
    return {
      segments: this.#segments.length,
      bytes: this.#otherBytes + this.#fileBytes,
      firstIndex: this.#image.offset() + 1,
      lastIndex: this.#image.lastIndex(),
      fsyncs: this.#fsyncs,
      entriesSynced: this.#entriesSynced,
      lastFsyncMs: this.#lastFsyncMs,
      healthy: this.#error === null,
      error: this.#error === null ? null : { code: this.#error.code, message: this.#error.message },
    };
  }

  async close(): Promise<void> {
    await this.#drain();
    this.#closed = true;
    if (this.#file !== null) await this.#file.close();
    this.#file = null;
  }
}

async function replaySegment(path: string, image: LogImage, isLast: boolean): Promise<{ goodBytes: number; tornBytes: number }> {
  const buffer = await readFile(path);
  let offset = 0;
  for (let n = 0; n < buffer.length + 1; n++) {
    const outcome = readRecord(buffer, offset);
    if (outcome.kind === 'end') return { goodBytes: offset, tornBytes: 0 };
    if (outcome.kind === 'torn') {
      if (!isLast) throw new StorageError('CONCORD_ERR_STORAGE_CORRUPT', 'truncated record in a sealed segment', { file: path, offset });
      return { goodBytes: offset, tornBytes: buffer.length - offset };
    }
    if (outcome.kind === 'corrupt') {
      // A bad record at the very end of the last segment is a torn write; anywhere else it is corruption.
      const atTail = isLast && readsToEnd(buffer, outcome, offset);
      if (atTail) return { goodBytes: offset, tornBytes: buffer.length - offset };
      throw new StorageError('CONCORD_ERR_STORAGE_CORRUPT', `write-ahead log record ${outcome.reason}`, { file: path, offset });
    }
    const { record } = outcome;
    if (record.type === RecordType.Entry) image.apply({ hardState: null, snapshot: null, entries: [record.entry] });
    else if (record.type === RecordType.HardState) image.apply({ hardState: record.hardState, snapshot: null, entries: [] });
    else image.apply({ hardState: null, snapshot: record.snapshot, entries: [] });
    offset = outcome.next;
  }
  return { goodBytes: offset, tornBytes: 0 };
}

/** Is a bad record the last thing in the buffer (its declared length reaches the end)? */
function readsToEnd(buffer: Buffer, _outcome: unknown, offset: number): boolean {
  if (offset + 4 > buffer.length) return true;
  const length = buffer.readUInt32LE(offset);
  return offset + 9 + length >= buffer.length;
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the data files themselves are synced.
  }
}
