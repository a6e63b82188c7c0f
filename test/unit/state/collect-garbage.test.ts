// The collection a bulk load ends with works in a process started without --expose-gc
// and leaves that flag as it found it.
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../../src/state/collect-garbage.js';

/** A WeakRef to an object nothing else holds, made in a turn of its own (a WeakRef keeps its target to the end of the job that made it). */
async function unreachable(): Promise<WeakRef<object>> {
  const ref = new WeakRef({ payload: new Array<number>(10_000).fill(1) });
  await new Promise((resolve) => setImmediate(resolve));
  return ref;
}

describe('collectGarbage', () => {
  it('collects what nothing holds and exposes gc() to no context', async () => {
    const before = typeof (globalThis as { gc?: unknown }).gc;
    const kept = { payload: [1, 2, 3] };
    const held = new WeakRef(kept);
    const ref = await unreachable();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(held.deref()).toBe(kept);
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(before);
    expect(runInNewContext('typeof gc')).toBe(before); // the flag was cleared again
  });
});
