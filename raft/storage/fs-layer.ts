// The few file-system calls the log store makes, behind an interface so tests
// can inject ENOSPC/EIO at any of them. The default layer is node:fs/promises.

import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';

/** An append-only file: positional writes, fdatasync, truncation. */
export interface AppendFile {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
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

export const nodeFs: StorageFs = {
  openAppend: (path) => open(path, 'a+'),
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
