// Property tests: random interleavings of appends, conflicting truncations,
// compactions, snapshot installs, hard-state writes and crashes (a torn or
// garbage tail after the last completed persist) against a naive model.

import { appendFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry, HardState, SnapshotMeta } from '../../../raft/core/types.js';
import { RaftLogStore, StorageError } from '../../../raft/storage/index.js';
import { encodeEntry } from '../../../raft/storage/record.js';
import { entry, plain, withTempDir } from './helpers.js';

const conf = { voters: ['a', 'b'], learners: [] };

type Command =
  | { kind: 'append'; back: number; count: number; newTerm: boolean }
  | { kind: 'commit'; ahead: number; vote: boolean }
  | { kind: 'compact'; behind: number; snapshotAhead: number }
  | { kind: 'installSnapshot'; past: number }
  | { kind: 'crash'; tail: 'none' | 'torn' | 'garbage'; cut: number; garbage: Uint8Array };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.nat(4), count: fc.integer({ min: 1, max: 4 }), newTerm: fc.boolean() }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('commit' as const), ahead: fc.nat(5), vote: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('compact' as const), behind: fc.nat(4), snapshotAhead: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('installSnapshot' as const), past: fc.integer({ min: 1, max: 5 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('crash' as const), tail: fc.constantFrom('none' as const, 'torn' as const, 'garbage' as const), cut: fc.nat(), garbage: fc.uint8Array({ minLength: 1, maxLength: 40 }) }), weight: 2 },
);

/** The naive model: what must be on disk after every completed persist. */
class Model {
  hardState: HardState = { term: 1, vote: null, commit: 0 };
  snapshot: SnapshotMeta | null = null;
  entries: Entry[] = [];
  start = 0; // entries are exactly (start, last]
  last(): number { return this.entries.length > 0 ? this.entries[this.entries.length - 1].index : this.start; }
}

async function lastSegment(dir: string): Promise<string | null> {
  const names = (await readdir(dir)).filter((n) => n.startsWith('wal-')).sort();
  return names.length === 0 ? null : join(dir, names[names.length - 1]);
}

async function step(store: RaftLogStore, model: Model, cmd: Exclude<Command, { kind: 'crash' }>): Promise<void> {
  const hs = model.hardState;
  if (cmd.kind === 'append') {
    const from = Math.max(hs.commit + 1, model.last() + 1 - cmd.back, model.start + 1);
    const term = cmd.newTerm ? hs.term + 1 : hs.term;
    const batch = Array.from({ length: cmd.count }, (_, i) => entry(from + i, term));
    const hardState = cmd.newTerm ? { term, vote: null, commit: hs.commit } : null;
    await store.persist({ hardState, entries: batch, snapshot: null });
    model.entries = [...model.entries.filter((e) => e.index < from), ...batch];
    if (hardState !== null) model.hardState = hardState;
  } else if (cmd.kind === 'commit') {
    const next = { term: hs.term, vote: hs.vote ?? (cmd.vote ? 'b' : null), commit: Math.min(hs.commit + cmd.ahead, model.last()) };
    await store.persist({ hardState: next, entries: [], snapshot: null });
    model.hardState = next;
  } else if (cmd.kind === 'compact') {
    const through = Math.max(model.start, hs.commit - cmd.behind);
    const at = Math.min(hs.commit, through + cmd.snapshotAhead);
    const term = model.entries.find((e) => e.index === at)?.term ?? model.snapshot?.term ?? 0;
    const meta = { index: at, term, confState: conf };
    await store.compact(through, meta);
    model.entries = model.entries.filter((e) => e.index > through);
    model.start = through;
    model.snapshot = meta;
  } else {
    const meta = { index: model.last() + cmd.past, term: hs.term, confState: conf };
    const hardState = { ...hs, commit: meta.index };
    await store.persist({ hardState, entries: [], snapshot: meta });
    model.entries = [];
    model.start = meta.index;
    model.snapshot = meta;
    model.hardState = hardState;
  }
}

/** Crash after the last completed persist: leave a partial record or garbage at the tail. */
async function crash(dir: string, cmd: Extract<Command, { kind: 'crash' }>): Promise<number> {
  const path = await lastSegment(dir);
  if (path === null || cmd.tail === 'none') return 0;
  const whole = encodeEntry(entry(999, 9, 'in flight'));
  const tail = cmd.tail === 'torn' ? whole.subarray(0, 1 + (cmd.cut % (whole.length - 1))) : cmd.garbage;
  await appendFile(path, tail);
  return tail.length;
}

describe('RaftLogStore property: everything persisted survives exactly, nothing else appears', () => {
  it('random operations with crashes', async () => {
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), fc.integer({ min: 256, max: 2048 }), (commands, segmentBytesMax) =>
      withTempDir(async (dir) => {
        const model = new Model();
        let store = await RaftLogStore.open({ dir, segmentBytesMax });
        await store.persist({ hardState: model.hardState, entries: [], snapshot: null });
        for (const cmd of commands) {
          if (cmd.kind !== 'crash') {
            await step(store, model, cmd);
            continue;
          }
          await store.close();
          const tailBytes = await crash(dir, cmd);
          store = await RaftLogStore.open({ dir, segmentBytesMax });
          const loaded = store.loaded();
          expect(loaded.tornTailBytes).toBe(tailBytes);
          expect(loaded.hardState).toEqual(model.hardState);
          expect(loaded.snapshot).toEqual(model.snapshot);
          expect(plain(loaded.entries)).toEqual(plain(model.entries));
        }
        expect(store.stats()).toMatchObject({ firstIndex: model.start + 1, lastIndex: model.last(), healthy: true });
        await store.close();
      })), { numRuns: 60 });
  });

  it('a flipped byte anywhere before the tail record is reported with its file and record offset', async () => {
    const recordBytes = encodeEntry(entry(1, 1, 'x'.repeat(50))).length;
    await fc.assert(fc.asyncProperty(fc.integer({ min: 12, max: 40 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (count, position, mask) =>
      withTempDir(async (dir) => {
        const store = await RaftLogStore.open({ dir, segmentBytesMax: recordBytes * 5 });
        for (let i = 1; i <= count; i++) await store.persist({ hardState: null, entries: [entry(i, 1, 'x'.repeat(50))], snapshot: null });
        await store.close();
        const names = (await readdir(dir)).filter((n) => n.startsWith('wal-')).sort();
        // Every byte of every segment except the last segment's final record.
        const sizes = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
        sizes[sizes.length - 1] -= recordBytes;
        let at = position % sizes.reduce((a, b) => a + b, 0);
        let file = 0;
        while (at >= sizes[file]) at -= sizes[file++];
        const path = join(dir, names[file]);
        const bytes = await readFile(path);
        bytes[at] ^= mask;
        await writeFile(path, bytes);
        const error = await RaftLogStore.open({ dir }).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(StorageError);
        expect(error).toMatchObject({ code: 'CONCORD_ERR_STORAGE_CORRUPT', file: path, offset: Math.floor(at / recordBytes) * recordBytes });
      })), { numRuns: 60 });
  });
});
