// A crash at a random point of a run on a real DuckDB file, then a restart from what was on
// disk and a replay of the log from durableIndex() + 1, reaches exactly the state of a run
// that never stopped. The run applies random command logs in random batches with several
// flushes (explicit flush() calls, and a small flushRowsMax that makes apply() flush);
// after every flush the checksum recomputed from the database's rows equals the model's.
// Two crash points per run, each simulated as store.test.ts does (copy the database file
// and its WAL while the state is still open, then open the copy):
//  - between two applied batches: right after a flush, or with applied-but-unflushed entries;
//  - inside the flushes: before each DuckDB statement the run issues, the files on disk are
//    compared with the last ones seen, and one of the distinct on-disk states is copied
//    (reservoir sampling, each equally likely). A copy taken anywhere in a flush must hold
//    the previous flush or this one entirely (rows, checksums and applied_index together),
//    never a mix: with the rows and applied_index in one transaction, the on-disk state
//    changes only at its COMMIT; a flush that commits them apart has an intermediate state.
// The statement hook wraps DuckDBConnection.prototype.run for this file only (vitest runs
// each test file in its own process with pool 'forks'); the store is not touched.
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../../raft/core/random.js';
import type { Entry } from '../../../raft/core/types.js';
import { checksumHex } from '../../../src/state/hashed-table.js';
import { CoordinatorState, encodeCommand, Model, type CommandInput } from '../../../src/state/index.js';
import { commandArbitrary, resolveStar } from './command-arbitraries.js';
import { run, type Cmd } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-crash-'));

// Called before every DuckDB statement while set.
let beforeStatement: (() => void) | null = null;
const realRun = DuckDBConnection.prototype.run; // called with its connection below
DuckDBConnection.prototype.run = function (this: DuckDBConnection, ...args: Parameters<DuckDBConnection['run']>) {
  beforeStatement?.();
  return realRun.apply(this, args);
};
afterAll(() => {
  DuckDBConnection.prototype.run = realRun;
  rmSync(dir, { recursive: true, force: true });
});

// More files and two SHA-256-like hashes, so flushes carry rows of every table and packed chunk lists.
const command = commandArbitrary({ extraHashes: ['ab'.repeat(32), 'cd'.repeat(32)], files: ['f1', 'f2', 'f3', 'f4'] });
// noop: an empty normal entry (a new leader's), which advances the applied index only.
const step = fc.record({ cmd: command, dt: fc.nat(200), key: fc.option(fc.constantFrom('k1', 'k2'), { freq: 4 }), noop: fc.integer({ min: 0, max: 19 }).map((x) => x === 0) });

const limits = { nodeTimeoutMs: 100, nodeInactiveAfterMs: 200, replicationFactor: 2, taskMaxAttempts: 2, idempotencyRetentionMs: 500 };


interface Log {
  readonly entries: Entry[];
  /** checksums[i]: the state checksum after entries 1..i, from a model that never touched DuckDB. */
  readonly checksums: string[];
  /** results[i]: the JSON of entry i + 1's result. */
  readonly results: string[];
}

function buildLog(steps: readonly { cmd: Cmd; dt: number; key: string | null; noop: boolean }[]): Log {
  const reference = new Model(limits);
  const log: Log = { entries: [], checksums: [reference.checksum()], results: [] };
  let ts = 0;
  steps.forEach(({ cmd: generated, dt, key, noop }, i) => {
    ts += dt;
    if (noop) {
      log.entries.push({ index: i + 1, term: 1, type: 'normal', data: new Uint8Array() });
      log.results.push(JSON.stringify(undefined));
    } else {
      const cmd = resolveStar(reference, generated);
      const envelope: CommandInput = key === null ? { v: 1, ts, cmd } : { v: 1, ts, cmd, idempotency_key: key };
      log.entries.push({ index: i + 1, term: 1, type: 'normal', data: encodeCommand(envelope) });
      log.results.push(JSON.stringify(run(reference, cmd, ts, key ?? undefined)));
    }
    log.checksums.push(reference.checksum());
  });
  return log;
}

/** The model's checksum recomputed from every row it holds (a load adopts the stored one instead). */
function rowsChecksum(model: Model): string {
  return checksumHex([model.nodes, model.files, model.replicas, model.tasks, model.meta, model.requests].reduce((x, t) => x ^ t.rowsChecksum(), 0n));
}

/** The crash: what is on disk now (database + its WAL), copied while the state keeps it open. */
function copyOnDisk(path: string, to: string): void {
  for (const f of [to, `${to}.wal`]) rmSync(f, { force: true });
  copyFileSync(path, to);
  if (existsSync(`${path}.wal`)) copyFileSync(`${path}.wal`, `${to}.wal`);
}


interface Plan { readonly batches: number[]; readonly flushAfter: boolean[]; readonly flushRowsMax: number }

/**
 * Apply `log.entries` from `from` on `state` in the plan's batches, flushing after the marked
 * ones; after every flush (explicit or by flushRowsMax) the database's rows hash to the
 * model's checksum at the flushed index. `afterBatch` runs after each batch.
 */
async function drive(state: CoordinatorState, log: Log, from: number, plan: Plan, afterBatch: (batch: number) => void): Promise<number> {
  let flushes = 0;
  const unsubscribe = state.onFlush(() => { flushes++; });
  const checkFlushes = async (seen: number) => {
    if (flushes === seen) return;
    const hook = beforeStatement;
    beforeStatement = null; // the check's reads are not crash points
    const db = await state.checksumFromDatabase();
    beforeStatement = hook;
    expect(db.flushedIndex).toBe(state.durableIndex());
    expect(db.flushedIndex).toBe(state.appliedIndex());
    expect(db.checksum).toBe(db.modelChecksum);
    expect(db.storedChecksum).toBe(db.checksum);
    expect(db.checksum).toBe(log.checksums[db.flushedIndex]);
  };
  let at = from;
  for (let b = 0; at < log.entries.length; b++) {
    const batch = log.entries.slice(at, at + plan.batches[b]);
    let seen = flushes;
    const results = await state.apply(batch);
    expect(results.map((r) => JSON.stringify(r))).toEqual(log.results.slice(at, at + batch.length));
    at += batch.length;
    expect(state.checksum()).toEqual({ checksum: log.checksums[at], appliedIndex: at });
    await checkFlushes(seen);
    seen = flushes;
    if (plan.flushAfter[b]) await state.flush();
    await checkFlushes(seen);
    afterBatch(b);
  }
  unsubscribe();
  return flushes;
}

const stats = { runs: 0, flushes: 0, onDiskStates: 0, betweenBatches: { flushed: 0, unflushed: 0 } };

/** What identifies the files' content cheaply: size and modification time of the database and its WAL. */
const onDisk = (path: string): string => [path, `${path}.wal`].map((f) => (existsSync(f) ? `${statSync(f).size}:${statSync(f).mtimeMs}` : '-')).join('/');

/** Open the copy, check it holds exactly the flushed state at `expected`, replay the rest, compare with the uninterrupted run. */
async function recover(copy: string, expected: number, log: Log, plan: Plan): Promise<void> {
  const state = await CoordinatorState.open({ dbPath: copy, flushIntervalMs: 60_000, flushRowsMax: plan.flushRowsMax, limits });
  try {
    expect(state.durableIndex()).toBe(expected); // the driver replays from durableIndex() + 1
    expect(state.appliedIndex()).toBe(expected);
    expect(state.checksum().checksum).toBe(log.checksums[expected]);
    expect(rowsChecksum(state.model)).toBe(log.checksums[expected]); // the rows themselves, not only the stored checksum
    await drive(state, log, state.durableIndex(), plan, () => undefined);
    expect(state.checksum().checksum).toBe(log.checksums[log.entries.length]);
    const db = await state.checksumFromDatabase();
    expect(db.flushedIndex).toBe(log.entries.length);
    expect(db.checksum).toBe(log.checksums[log.entries.length]);
    expect(db.storedChecksum).toBe(db.checksum);
  } finally {
    await state.close();
  }
}

describe('crash and replay on DuckDB', () => {
  const MAX_STEPS = 70;
  it('a crash between batches or inside a flush, then replay from durableIndex() + 1, reaches the uninterrupted state', async () => {
    const plan = fc.record({
      // One size and one flush-or-not per batch (at most MAX_STEPS batches): an explicit flush after about half of them.
      batches: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: MAX_STEPS, maxLength: MAX_STEPS }),
      flushAfter: fc.array(fc.boolean(), { minLength: MAX_STEPS, maxLength: MAX_STEPS }),
      flushRowsMax: fc.constantFrom(3, 8, 20, 50_000),
    });
    // The crash between batches: at the first batch from crashBatch on after which everything applied is flushed (afterFlush) or not; else after the last.
    const crash = fc.record({ crashBatch: fc.nat(), afterFlush: fc.boolean(), seed: fc.integer() });
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: MAX_STEPS }), plan, crash, async (steps, p, { crashBatch, afterFlush, seed }) => {
      const log = buildLog(steps);
      const n = stats.runs++;
      const path = join(dir, `run-${n}.duckdb`);
      const [betweenCopy, inFlushCopy] = [join(dir, `run-${n}-between.duckdb`), join(dir, `run-${n}-in-flush.duckdb`)];
      const batchCount = (() => { let b = 0; for (let at = 0; at < log.entries.length; b++) at += p.batches[b]; return b; })();
      let between = -1;
      let inFlush = -1;
      const live = await CoordinatorState.open({ dbPath: path, flushIntervalMs: 60_000, flushRowsMax: p.flushRowsMax, limits });
      try {
        // Reservoir sampling over the distinct on-disk states, starting with the fresh database's.
        const random = createSeededRandom(seed);
        let last = '';
        let states = 0;
        const observe = () => {
          const now = onDisk(path);
          if (now === last) return;
          last = now;
          states++;
          if (random() * states < 1) {
            copyOnDisk(path, inFlushCopy);
            inFlush = live.durableIndex(); // a flush not finished yet must not be in the copy at all
          }
        };
        observe();
        beforeStatement = observe;
        stats.flushes += await drive(live, log, 0, p, (b) => {
          const flushed = live.durableIndex() === live.appliedIndex();
          if (between >= 0 || b < crashBatch % batchCount || (flushed !== afterFlush && b < batchCount - 1)) return;
          copyOnDisk(path, betweenCopy);
          between = live.durableIndex();
          stats.betweenBatches[flushed ? 'flushed' : 'unflushed']++;
        });
        observe(); // the last flush's state
        beforeStatement = null;
        stats.onDiskStates += states;
        expect(live.checksum().checksum).toBe(log.checksums[log.entries.length]);
      } finally {
        beforeStatement = null;
        await live.close();
      }
      await recover(betweenCopy, between, log, p);
      await recover(inFlushCopy, inFlush, log, p);
    }), { numRuns: 12, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true }); // bounds the shrinking of a failure (a passing run takes ~6 s); a run cut short fails
    expect(stats.runs).toBe(12);
    // The runs covered what they are meant to (sums over all runs).
    expect(stats.flushes).toBeGreaterThanOrEqual(2 * stats.runs);
    expect(stats.onDiskStates).toBeGreaterThan(stats.flushes); // each flush's state, and the fresh database's
    expect(stats.betweenBatches.flushed + stats.betweenBatches.unflushed).toBe(stats.runs);
  });
});
