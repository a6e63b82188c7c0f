// Property: with writes (plain and O_DSYNC) and fdatasync failing at random points, and
// O_DSYNC writes cut short, every persist that resolved survives a reopen exactly, and
// nothing from a rejected one appears; commit-only updates (carried to the next write)
// pass through the failures without corrupting the log.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../raft/core/types.js';
import { RaftLogStore, nodeFs, type StorageFs } from '../../../raft/storage/index.js';
import { entry, plain, withTempDir } from './helpers.js';

/**
 * Fails the n-th write/O_DSYNC write/datasync call when schedule[n] is true. A failing
 * O_DSYNC write writes half first; `short` makes a passing O_DSYNC write stop halfway
 * (the store finishes with plain writes and an fdatasync).
 */
function scheduledFs(schedule: boolean[], short: boolean[]): StorageFs {
  let call = 0;
  const fails = () => schedule[call++ % schedule.length];
  const error = () => Object.assign(new Error('injected EIO'), { code: 'EIO' });
  return {
    ...nodeFs,
    async openAppend(path) {
      const file = await nodeFs.openAppend(path);
      return {
        write: async (b, o, l, p) => {
          if (!fails()) return file.write(b, o, l, p);
          await file.write(b, o, Math.ceil(l / 2), p); // a partial write, then the error
          throw error();
        },
        ...(file.writeDurable === undefined ? {} : { writeDurable: async (b: Buffer, o: number, l: number, p: number) => {
          const n = call;
          if (fails()) {
            await file.writeDurable!(b, o, Math.ceil(l / 2), p);
            throw error();
          }
          return file.writeDurable!(b, o, short[n % short.length] ? Math.ceil(l / 2) : l, p);
        } }),
        datasync: () => (fails() ? Promise.reject(error()) : file.datasync()),
        truncate: (l) => file.truncate(l),
        close: () => file.close(),
      };
    },
  };
}

describe('RaftLogStore under injected I/O failures', () => {
  it('acknowledged writes survive exactly; rejected ones leave no trace', async () => {
    const rounds = fc.array(fc.record({ writers: fc.integer({ min: 1, max: 6 }), back: fc.nat(2) }), { minLength: 1, maxLength: 12 });
    const schedule = fc.array(fc.boolean(), { minLength: 1, maxLength: 16 });
    const shortWrites = fc.array(fc.boolean(), { minLength: 1, maxLength: 8 });
    await fc.assert(fc.asyncProperty(rounds, schedule, fc.integer({ min: 200, max: 600 }), shortWrites, (plan, failures, segmentBytesMax, short) =>
      withTempDir(async (dir) => {
        const store = await RaftLogStore.open({ dir, segmentBytesMax, fs: scheduledFs(failures, short) });
        let model: Entry[] = [];
        let term = 1;
        let commit = 0;
        for (const round of plan) {
          term++;
          const from = Math.max(1, (model.at(-1)?.index ?? 0) + 1 - round.back);
          const batches = Array.from({ length: round.writers }, (_, i) => [entry(from + i, term)]);
          const results = await Promise.allSettled(batches.map((batch) => store.persist({ hardState: null, entries: batch, snapshot: null })));
          // A batch shares one fate: all resolved or all rejected.
          expect(new Set(results.map((r) => r.status)).size).toBe(1);
          if (results[0].status === 'fulfilled') {
            model = [...model.filter((e) => e.index < from), ...batches.flat()];
            // A hard-state update: synced when the term moved, else commit-only (carried to the
            // next write, through any failures that follow).
            for (const next of [commit, Math.max(commit, (model.at(-1)?.index ?? 0) - 2)]) {
              commit = next;
              if (await store.persist({ hardState: { term, vote: 'a', commit }, entries: [], snapshot: null }).then(() => false, () => true)) {
                for (let attempt = 0; attempt < 40 && !store.stats().healthy; attempt++) await store.recover().catch(() => undefined);
              }
            }
          } else {
            expect(store.stats().healthy).toBe(false);
            for (let attempt = 0; attempt < 40 && !store.stats().healthy; attempt++) await store.recover().catch(() => undefined);
          }
          expect(store.stats().lastIndex).toBe(model.at(-1)?.index ?? 0);
        }
        await store.close();
        const again = await RaftLogStore.open({ dir, segmentBytesMax });
        expect(plain(again.loaded().entries)).toEqual(plain(model));
        expect(again.loaded().tornTailBytes).toBe(0);
        expect(again.loaded().hardState.commit).toBeLessThanOrEqual(commit);
        await again.close();
      })), { numRuns: 50, examples: [[[{ writers: 3, back: 0 }], [true], 300, [false]]] });
  });
});
