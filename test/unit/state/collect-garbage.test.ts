// The collection a bulk load ends with works in a process started without --expose-gc,
// leaves the process's gc flags as it found them, and is skipped, never an error, where
// no `gc` can be had.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../../src/state/collect-garbage.js';
import { childEnv } from '../../helpers/processes.js';

const here = import.meta.dirname;
const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : resolve(here, '../../..');
const built = resolve(root, 'dist/src/state/collect-garbage.js');

/** A WeakRef to an object nothing else holds, made in a turn of its own (a WeakRef keeps its target to the end of the job that made it). */
async function unreachable(): Promise<WeakRef<object>> {
  const ref = new WeakRef({ payload: new Array<number>(10_000).fill(1) });
  await new Promise((resolve) => setImmediate(resolve));
  return ref;
}

/** In a child `node` with `flags`: what a fresh context sees as `gc` before and after two collections (and as `collectNow` after), and whether they collected. */
function inChild(flags: string[], prelude = ''): Promise<{ before: string; after: string; named: string; collected: boolean }> {
  const script = `
    import { runInNewContext } from 'node:vm';
    ${prelude}
    const { collectGarbage } = await import(${JSON.stringify(built)});
    const before = runInNewContext('typeof gc');
    const ref = new WeakRef({ payload: new Array(10000).fill(1) });
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    collectGarbage();
    const after = runInNewContext('typeof gc');
    process.stdout.write(JSON.stringify({ before, after, named: runInNewContext('typeof collectNow'), collected: ref.deref() === undefined }));`;
  return new Promise((done, fail) => {
    execFile(process.execPath, [...flags, '--input-type=module', '-e', script], { timeout: 60_000, env: childEnv({ NODE_OPTIONS: '' }) },
      (error, stdout, stderr) => (error === null ? done(JSON.parse(stdout) as never) : fail(new Error(`${error.message}\n${stderr}`))));
  });
}

describe('collectGarbage', () => {
  it('collects what nothing holds and exposes gc() to no context', async () => {
    const before = typeof (globalThis as { gc?: unknown }).gc;
    const ref = await unreachable();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(before);
    expect(runInNewContext('typeof gc')).toBe(before); // the flag was cleared again
  });

  it('in a process with no gc flag, with --expose-gc (its gc overwritten or not), and with --expose-gc-as (skipped there)', async () => {
    expect(await inChild([])).toEqual({ before: 'undefined', after: 'undefined', named: 'undefined', collected: true });
    expect(await inChild(['--expose-gc'])).toEqual({ before: 'function', after: 'function', named: 'undefined', collected: true });
    // The flag set but this context's gc overwritten: taken from a fresh context, the flag left set.
    expect(await inChild(['--expose-gc'], 'globalThis.gc = undefined;')).toEqual({ before: 'function', after: 'function', named: 'undefined', collected: true });
    // gc is exposed under another name only: nothing to call (no error), and new contexts still get it under that name.
    expect(await inChild(['--expose-gc-as=collectNow'])).toEqual(expect.objectContaining({ before: 'undefined', after: 'undefined', named: 'function' }));
  });
});
