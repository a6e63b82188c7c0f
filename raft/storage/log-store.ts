// The write-ahead log: append-only segment files of CRC-framed records holding
// entries, hard state and snapshot/compaction markers. One fdatasync covers
// every record queued since the previous one (group commit). See README.md.

import { mkdir, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Entry, HardState, SnapshotMeta } from '../core/types.js';
import { StorageError, fromFsError } from './errors.js';
import { nodeFs, type AppendFile, type StorageFs } from './fs-layer.js';
import { HARD_STATE_FILE, encodeHardStateFile, newerHardState, readHardStateFile } from './hard-state-file.js';
import { LogImage, entriesProblem, type LogUpdate } from './log-image.js';
import { encodeCompactMarker, encodeEntry, encodeHardState, encodeSnapshotMarker } from './record.js';
import { replaySegment } from './segment-replay.js';

export type { LogUpdate } from './log-image.js';

export interface LoadedLog {
  hardState: HardState;
  snapshot: SnapshotMeta | null;
  entries: Entry[];
  tornTailBytes: number;
}

export interface LogStats {
  segments: number; bytes: number; firstIndex: number; lastIndex: number; fsyncs: number;
  entriesSynced: number; lastFsyncMs: number; healthy: boolean; error: { code: string; message: string } | null;
}

export interface LogStoreOptions {
  dir: string;
  /** A segment is sealed once it would grow past this; default 64 MiB. */
  segmentBytesMax?: number;
  logger?: Logger;
  /** File-system layer; tests inject failures here. */
  fs?: StorageFs;
  /** fdatasync every update, also those that only move the commit index (default false: etcd's MustSync rule). */
  syncAll?: boolean;
}

interface Pending { buffers: Buffer[]; update: LogUpdate; sync: boolean; resolve: () => void; reject: (e: Error) => void }

/** What compaction needs to know of a segment: its size and the highest entry index in it. */
interface SegmentInfo { bytes: number; maxEntryIndex: number }

const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
const SEGMENT_PATTERN = /^wal-[0-9a-f]{16}\.log$/;
const segmentName = (sequence: number) => `wal-${sequence.toString(16).padStart(16, '0')}.log`;

export class RaftLogStore {
  readonly #dir: string;
  readonly #segmentBytesMax: number;
  readonly #logger: Logger | undefined;
  readonly #fs: StorageFs;
  readonly #syncAll: boolean;
  readonly #image: LogImage;
  readonly #loaded: LoadedLog;
  #segments: number[];
  /** Per sealed segment (the current one's size is #fileBytes); kept in step with #segments. */
  readonly #segmentInfo: Map<number, SegmentInfo>;
  /** The highest entry index written to the current segment. */
  #currentMaxEntryIndex: number;
  #file: AppendFile | null = null;
  #fileBytes: number;
  /**
   * The current segment may hold bytes written without a sync since the last one (true at
   * start: an earlier process may have left some).
   */
  #unsynced = true;
  #sealedBytes: number;
  #fileHardState: HardState;
  #queue: Pending[] = [];
  /**
   * The newest record of the batches that needed no sync (commit-only hard states; replay
   * keeps the last), not written yet: it goes out at the front of the next write. Written
   * on its own it would leave the segment with unsynced bytes, and the synced batch after
   * it could then not be one O_DSYNC write (that syncs only its own range). Nothing waits
   * for it: an unsynced record promises nothing, and close() writes it if it is left.
   */
  #carried: Buffer | null = null;
  /** The newest hard state handed to persist(), for the sync decision. */
  #queuedHardState: HardState;
  /** Serializes flushes and compactions: each link runs after the previous one settles. */
  #chain: Promise<void> = Promise.resolve();
  #flushScheduled = false;
  #error: StorageError | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #fsyncs = 0;
  #entriesSynced = 0;
  #lastFsyncMs = 0;

  private constructor(options: LogStoreOptions, image: LogImage, segments: number[], info: Map<number, SegmentInfo>, sizes: { torn: number; sealed: number; last: number }) {
    this.#dir = options.dir;
    this.#segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_DEFAULT;
    this.#logger = options.logger;
    this.#fs = options.fs ?? nodeFs;
    this.#syncAll = options.syncAll === true;
    this.#image = image;
    this.#segments = segments;
    const current = segments[segments.length - 1];
    this.#currentMaxEntryIndex = current === undefined ? 0 : info.get(current)?.maxEntryIndex ?? 0;
    if (current !== undefined) info.delete(current);
    this.#segmentInfo = info;
    this.#sealedBytes = sizes.sealed;
    this.#fileBytes = sizes.last;
    this.#fileHardState = image.hardState;
    this.#queuedHardState = image.hardState;
    this.#loaded = { hardState: image.hardState, snapshot: image.snapshot, entries: [...image.entries], tornTailBytes: sizes.torn };
  }

  static async open(options: LogStoreOptions): Promise<RaftLogStore> {
    const segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_DEFAULT;
    if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < 128) {
      throw new RangeError(`segmentBytesMax must be an integer ≥ 128, got ${segmentBytesMax}`);
    }
    await mkdir(options.dir, { recursive: true });
    const names = (await readdir(options.dir)).filter((n) => SEGMENT_PATTERN.test(n)).sort();
    const image = new LogImage();
    const sizes = { torn: 0, sealed: 0, last: 0 };
    const info = new Map<number, SegmentInfo>();
    for (let i = 0; i < names.length; i++) {
      const path = join(options.dir, names[i]);
      const isLast = i === names.length - 1;
      const result = await replaySegment(path, image, isLast);
      info.set(parseInt(names[i].slice(4, 20), 16), { bytes: result.goodBytes, maxEntryIndex: result.maxEntryIndex });
      if (result.tornBytes > 0) {
        options.logger?.warn({ file: path, offset: result.goodBytes, bytes: result.tornBytes }, 'truncating a torn tail of the write-ahead log');
        await truncate(path, result.goodBytes);
        sizes.torn = result.tornBytes;
      }
      if (isLast) sizes.last = result.goodBytes;
      else sizes.sealed += result.goodBytes;
    }
    const fromFile = await readHardStateFile(join(options.dir, HARD_STATE_FILE));
    image.hardState = newerHardState(fromFile, image.hardState);
    // etcd#10166: a commit index beyond the log means acknowledged writes were lost.
    if (image.hardState.commit > image.lastIndex()) {
      throw new StorageError('CONCORD_ERR_STORAGE_CORRUPT',
        `hard state commit ${image.hardState.commit} is beyond the last log index ${image.lastIndex()} (log lost synced writes)`,
        { file: options.dir });
    }
    const segments = names.map((n) => parseInt(n.slice(4, 20), 16));
    return new RaftLogStore(options, image, segments, info, sizes);
  }

  loaded(): LoadedLog {
    return this.#loaded;
  }

  /**
   * Persist one Ready's durable parts; resolves once fdatasync'd (shared with concurrent
   * calls). An update that only moves the commit index is not synced (etcd's MustSync
   * rule) and not written on its own: its record goes in front of the next write (see
   * #carried) and the call resolves at once. A lost commit index is learned again from the
   * leader (or from what the state machine applied), and the next synced record covers it.
   * With `syncAll` every update is synced.
   */
  persist(update: LogUpdate): Promise<void> {
    if (this.#closed) return Promise.reject(new StorageError('CONCORD_ERR_STORAGE_IO', 'log store is closed'));
    if (this.#error !== null) return Promise.reject(this.#error);
    const problem = entriesProblem(update.entries);
    if (problem !== null) return Promise.reject(new RangeError(`persist: ${problem}`));
    const buffers: Buffer[] = [];
    if (update.snapshot !== null) buffers.push(encodeSnapshotMarker(update.snapshot));
    for (const entry of update.entries) buffers.push(encodeEntry(entry));
    if (update.hardState !== null) buffers.push(encodeHardState(update.hardState));
    const last = this.#queuedHardState;
    const sync = this.#syncAll || update.entries.length > 0 || update.snapshot !== null ||
      (update.hardState !== null && (update.hardState.term !== last.term || update.hardState.vote !== last.vote));
    if (update.hardState !== null) this.#queuedHardState = update.hardState;
    return new Promise((resolve, reject) => {
      this.#queue.push({ buffers, update, sync, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        this.#chain = this.#chain.then(() => this.#flush());
      }
    });
  }

  /** Write and sync everything queued, batch after batch, until the queue is empty. */
  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        if (this.#error !== null) throw this.#error;
        const buffers = batch.flatMap((b) => b.buffers);
        if (batch.some((b) => b.sync)) await this.#append(buffers, true);
        else if (buffers.length > 0) this.#carried = buffers[buffers.length - 1]; // hard-state records only
        for (const item of batch) {
          const entries = item.update.entries;
          if (entries.length > 0) this.#currentMaxEntryIndex = Math.max(this.#currentMaxEntryIndex, entries[entries.length - 1].index);
          this.#image.apply(item.update);
        }
        this.#entriesSynced += batch.reduce((n, b) => n + b.update.entries.length, 0);
        await this.#saveHardStateFile();
        for (const item of batch) item.resolve();
      } catch (error) {
        this.#fail(error);
        for (const item of [...batch, ...this.#queue]) item.reject(this.#error!);
        this.#queue = [];
      }
    }
    this.#flushScheduled = false;
  }

  #fail(error: unknown): void {
    if (this.#error === null) {
      this.#error = error instanceof StorageError ? error : fromFsError(error, this.#currentPath());
      this.#logger?.error({ err: this.#error }, 'write-ahead log failed; refusing writes until recover()');
    }
  }

  /** Term or vote changed: replace the hard-state file (atomic) so it never lags the WAL on those. */
  async #saveHardStateFile(): Promise<void> {
    const hs = this.#image.hardState;
    if (hs.term === this.#fileHardState.term && hs.vote === this.#fileHardState.vote) return;
    await this.#fs.writeAtomic(join(this.#dir, HARD_STATE_FILE), encodeHardStateFile(hs));
    this.#fileHardState = hs;
  }

  /**
   * Append the carried record and `buffers` to the current segment (rotating first if
   * full) and, with `sync`, make them durable. The carried record is dropped only once
   * written: after a failure, recover() cuts the segment back and they go out again.
   */
  async #append(buffers: Buffer[], sync = true): Promise<void> {
    const all = this.#carried === null ? buffers : [this.#carried, ...buffers];
    if (all.length === 0) return;
    const data = Buffer.concat(all);
    if (this.#file === null || (this.#fileBytes > 0 && this.#fileBytes + data.length > this.#segmentBytesMax)) {
      await this.#openSegment(this.#file !== null || this.#segments.length === 0 || this.#fileBytes >= this.#segmentBytesMax);
    }
    const file = this.#file!;
    const started = performance.now();
    // O_DSYNC syncs only the range it writes: usable when nothing written before is unsynced
    // and the whole batch goes in one call (a short write falls back to fdatasync).
    let written = 0;
    const durable = sync && !this.#unsynced && file.writeDurable !== undefined;
    if (durable) written = Math.max(0, (await file.writeDurable!(data, 0, data.length, this.#fileBytes)).bytesWritten);
    const synced = durable && written === data.length;
    for (; written < data.length;) {
      const { bytesWritten } = await file.write(data, written, data.length - written, this.#fileBytes + written);
      if (bytesWritten <= 0) throw new StorageError('CONCORD_ERR_STORAGE_IO', 'write made no progress', { file: this.#currentPath() });
      written += bytesWritten;
    }
    if (sync && !synced) await file.datasync();
    this.#fileBytes += data.length;
    this.#carried = null;
    this.#unsynced = !sync;
    if (!sync) return;
    this.#fsyncs++;
    this.#lastFsyncMs = performance.now() - started;
  }

  #currentPath(): string {
    return join(this.#dir, segmentName(this.#segments[this.#segments.length - 1] ?? 1));
  }

  /** Open the last segment for appending, or (fresh) seal it and start the next one. */
  async #openSegment(fresh: boolean): Promise<void> {
    // A sealed segment must not end in records a crash could lose while later segments keep
    // theirs (replay accepts a torn tail only in the last segment): sync what is unsynced,
    // also in a full last segment that an earlier process left and this one never opened.
    if (this.#unsynced && fresh && this.#file === null && this.#segments.length > 0) this.#file = await this.#fs.openAppend(this.#currentPath());
    if (this.#file !== null && this.#unsynced) await this.#file.datasync();
    if (this.#file !== null) await this.#file.close();
    this.#file = null;
    if (fresh) {
      const sealed = this.#segments[this.#segments.length - 1];
      if (sealed !== undefined) {
        this.#sealedBytes += this.#fileBytes;
        this.#segmentInfo.set(sealed, { bytes: this.#fileBytes, maxEntryIndex: this.#currentMaxEntryIndex });
      }
      this.#segments.push((sealed ?? 0) + 1);
      this.#fileBytes = 0;
      this.#currentMaxEntryIndex = 0;
    }
    this.#file = await this.#fs.openAppend(this.#currentPath());
    if (fresh) {
      await this.#fs.syncDirectory(this.#dir);
      this.#unsynced = false; // a new, empty segment; the sealed one was synced above
    }
  }

  /**
   * Drop entries ≤ throughIndex (covered by `snapshot`): append a compaction marker and
   * the hard state to the current segment (synced), then delete the oldest sealed
   * segments whose entries all lie at or below throughIndex — a prefix, so a later
   * segment that overwrote entries of a kept one is never lost. Nothing is rewritten
   * (rewriting the retained tail cost 9,000 entries per snapshot with the defaults). A
   * crash in between replays the old segments too, and the marker drops their entries.
   */
  compact(throughIndex: number, snapshot: SnapshotMeta): Promise<void> {
    if (!Number.isSafeInteger(throughIndex) || throughIndex < 0 || throughIndex > snapshot.index) {
      return Promise.reject(new RangeError(`compact: throughIndex ${throughIndex} must be within [0, ${snapshot.index}]`));
    }
    const run = this.#chain.then(() => this.#compact(throughIndex, snapshot));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #compact(throughIndex: number, snapshot: SnapshotMeta): Promise<void> {
    if (this.#error !== null) throw this.#error;
    if (this.#closed) throw new StorageError('CONCORD_ERR_STORAGE_IO', 'log store is closed');
    try {
      // The image changes only once the marker is synced, so a failure leaves it matching the disk.
      const hardState = this.#image.hardState;
      await this.#fs.writeAtomic(join(this.#dir, HARD_STATE_FILE), encodeHardStateFile(hardState));
      this.#fileHardState = hardState;
      await this.#append([encodeCompactMarker(throughIndex, snapshot), encodeHardState(hardState)]);
      this.#image.compact(throughIndex, snapshot);
      const old: number[] = [];
      let oldBytes = 0;
      // Oldest first and one at a time, so a crash or error leaves a contiguous run of segments.
      while (this.#segments.length > 1 && (this.#segmentInfo.get(this.#segments[0])?.maxEntryIndex ?? Infinity) <= throughIndex) {
        const sequence = this.#segments[0];
        await this.#fs.remove(join(this.#dir, segmentName(sequence)));
        // Each unlink durable before the next: on a file system that could reorder them, a
        // crash must not keep an older segment and lose a newer one.
        await this.#fs.syncDirectory(this.#dir);
        const bytes = this.#segmentInfo.get(sequence)?.bytes ?? 0;
        this.#segments = this.#segments.slice(1);
        this.#segmentInfo.delete(sequence);
        this.#sealedBytes -= bytes;
        oldBytes += bytes;
        old.push(sequence);
      }
      this.#logger?.debug({ throughIndex, segmentsRemoved: old.length, bytesRemoved: oldBytes }, 'write-ahead log compacted');
    } catch (error) {
      this.#fail(error);
      throw this.#error!;
    }
  }

  /**
   * After an I/O error: cut the current segment back to its last synced byte,
   * sync it and accept writes again. Rejects (and stays unhealthy) if that fails.
   */
  recover(): Promise<void> {
    const run = this.#chain.then(async () => {
      if (this.#error === null) return;
      if (this.#file !== null) await this.#file.close().catch(() => undefined);
      this.#file = null;
      try {
        if (this.#segments.length > 0) {
          const file = await this.#fs.openAppend(this.#currentPath());
          this.#file = file;
          await file.truncate(this.#fileBytes);
          await file.datasync();
          this.#unsynced = false;
          // The failure may have hit while a new segment was being created: make its
          // directory entry durable too, or acknowledged writes could vanish with it.
          await this.#fs.syncDirectory(this.#dir);
        }
      } catch (error) {
        if (this.#file !== null) await this.#file.close().catch(() => undefined);
        this.#file = null;
        throw fromFsError(error, this.#currentPath());
      }
      this.#error = null;
      this.#logger?.info('write-ahead log accepting writes again');
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  stats(): LogStats {
    return {
      segments: this.#segments.length,
      bytes: this.#sealedBytes + this.#fileBytes,
      firstIndex: this.#image.firstIndex(),
      lastIndex: this.#image.lastIndex(),
      fsyncs: this.#fsyncs,
      entriesSynced: this.#entriesSynced,
      lastFsyncMs: this.#lastFsyncMs,
      healthy: this.#error === null,
      error: this.#error === null ? null : { code: this.#error.code, message: this.#error.message },
    };
  }

  /** Wait for queued writes, write a carried record (unsynced, as it would have been), then close the segment. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closed = true;
      const run = this.#chain.then(async () => {
        if (this.#carried !== null) {
          if (this.#error !== null) this.#logger?.warn('closing with the log failed: the last commit-only record is not written');
          else {
            await this.#append([], false).catch(async (error: unknown) => {
              this.#logger?.warn({ err: error }, 'writing the last commit-only record at close failed');
              await this.#file?.truncate(this.#fileBytes).catch(() => undefined); // no torn record left behind
            });
          }
        }
        if (this.#file !== null) await this.#file.close().catch(() => undefined);
        this.#file = null;
      });
      this.#chain = run.catch(() => undefined);
      this.#closing = run;
    }
    return this.#closing;
  }
}
