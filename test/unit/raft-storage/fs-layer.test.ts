// The default file layer's O_DSYNC writes (Linux): the durable handle really carries
// O_DSYNC, and a durable handle that cannot be opened leaves the write to the caller's
// write + fdatasync path instead of failing it.
import { constants, readdirSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFs } from '../../../raft/storage/index.js';
import { withTempDir } from './helpers.js';

/** The open-file flags (fdinfo, octal) of every descriptor of this process that points at `path`. */
function flagsOf(path: string): number[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== path) return [];
      const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'));
      return line === undefined ? [] : [parseInt(line.slice('flags:'.length).trim(), 8)];
    } catch {
      return []; // a descriptor closed meanwhile
    }
  });
}

describe.runIf(process.platform === 'linux')('nodeFs append files on Linux', () => {
  it('writes durably through a second descriptor opened with O_DSYNC', () => withTempDir(async (dir) => {
    const path = join(dir, 'wal-1.log');
    const file = await nodeFs.openAppend(path);
    expect(flagsOf(path).filter((f) => (f & constants.O_DSYNC) !== 0)).toHaveLength(0);
    const data = Buffer.from('hello, durable world');
    expect(await file.writeDurable!(data, 0, data.length, 0)).toMatchObject({ bytesWritten: data.length });
    expect(flagsOf(path).filter((f) => (f & constants.O_DSYNC) !== 0)).toHaveLength(1);
    await file.close();
    expect(flagsOf(path)).toEqual([]); // both descriptors closed
    expect(readFileSync(path, 'utf8')).toBe('hello, durable world');
  }));

  it('writes nothing through writeDurable when the O_DSYNC descriptor cannot be opened; plain writes still work', () => withTempDir(async (dir) => {
    const path = join(dir, 'wal-1.log');
    const file = await nodeFs.openAppend(path);
    unlinkSync(path); // the lazy open (no O_CREAT) now fails with ENOENT
    const data = Buffer.from('abc');
    expect(await file.writeDurable!(data, 0, data.length, 0)).toMatchObject({ bytesWritten: 0 });
    expect(await file.write(data, 0, data.length, 0)).toMatchObject({ bytesWritten: 3 });
    await file.datasync();
    await file.close();
  }));
});
