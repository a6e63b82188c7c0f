// Durable file steps shared by backup and restore: fsync a file or a directory.
import { open } from 'node:fs/promises';

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Make a rename or a new entry in `dir` durable (a no-op where directories cannot be opened). */
export async function fsyncDir(dir: string): Promise<void> {
  await fsyncPath(dir).catch(() => undefined);
}
