// The few file-system calls the log store makes, behind an interface so tests
// can inject ENOSPC/EIO at any of them. The default layer is node:fs/promises.

import { constants } from 'node:fs';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';

/** An append-only file: positional writes, fdatasync, truncation. */
export interface AppendFile {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  /**
   * Optional: write and make that range durable in one call (O_DSYNC). Only a write that
   * follows no unsynced one may use it: it syncs its own range, not earlier writes.
   */
  writeDurable?(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StorageFs {
  openAppend(path: string): Promise<AppendFile>;
  /** Replace `path` with `data` atomically: temp file, fsync, rename, fsync the directory. */
  writeAtomic(path: string, data: Buffer): Promise<void>;
  syncDirectory(dir: string): Promise<void>;
  remove(path: string): Promise<void>;
}

async function syncAndClose(handle: FileHandle): Promise<void> {
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a file (by path). */
export async function fsyncPath(path: string): Promise<void> {
  await syncAndClose(await open(path, 'r'));
}

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return; // platforms that cannot open a directory cannot fsync it either
  }
  await syncAndClose(handle);
}

/**
 * A segment open twice: plain writes and fdatasync on one handle, O_DSYNC writes on the
 * other. An O_DSYNC write is one thread-pool call instead of two (write, then fdatasync),
 * so the promise resolves one event-loop turn sooner.
 */
class DualHandleFile implements AppendFile {
  #durable: FileHandle | null = null;
  /** The O_DSYNC handle could not be opened: every write takes the write + fdatasync path. */
  #durableFailed = false;

  constructor(private readonly path: string, private readonly handle: FileHandle) {}

  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    return this.handle.write(buffer, offset, length, position);
  }

  /** Writes nothing (0 bytes: the caller writes and fdatasyncs) if the O_DSYNC handle cannot be opened. */
  async writeDurable(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    if (this.#durable === null && !this.#durableFailed) {
      try {
        this.#durable = await open(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_DSYNC);
      } catch {
        this.#durableFailed = true;
      }
    }
    return this.#durable === null ? { bytesWritten: 0 } : this.#durable.write(buffer, offset, length, position);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async close(): Promise<void> {
    try {
      await this.#durable?.close();
    } finally {
      await this.handle.close();
    }
  }
}

/**
 * O_DSYNC as fdatasync's equal only where that is known to hold: Linux. (Windows has no
 * O_DSYNC; on macOS fdatasync means F_FULLFSYNC, which an O_DSYNC write does not match.)
 */
const DSYNC_WRITES = process.platform === 'linux' && typeof constants.O_DSYNC === 'number';

export const nodeFs: StorageFs = {
  openAppend: async (path) => (DSYNC_WRITES ? new DualHandleFile(path, await open(path, 'a+')) : open(path, 'a+')),
  async writeAtomic(path, data) {
    const temp = `${path}.tmp`;
    await writeFile(temp, data);
    await fsyncPath(temp);
    await rename(temp, path);
    await syncDirectory(path.slice(0, Math.max(path.lastIndexOf('/'), 1)));
  },
  syncDirectory,
  remove: (path) => rm(path, { force: true }),
};
