// The few file-system calls the log store makes, behind an interface so tests
// can inject ENOSPC/EIO at any of them. The default layer is node:fs/promises.

import { open, rename, rm, writeFile } from 'node:fs/promises';

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

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return; // platforms that cannot open a directory cannot fsync it either
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export const nodeFs: StorageFs = {
  openAppend: (path) => open(path, 'a+'),
  async writeAtomic(path, data) {
    const temp = `${path}.tmp`;
    await writeFile(temp, data);
    const handle = await open(temp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(path.slice(0, Math.max(path.lastIndexOf('/'), 1)));
  },
  syncDirectory,
  remove: (path) => rm(path, { force: true }),
};
