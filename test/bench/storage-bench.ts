// Write-ahead log benchmark: group commit with 64 concurrent persisters of one
// ~200-byte entry each (fsyncs/s, entries per fsync, entries/s), and
// single-writer persist latency (one fdatasync each) p50/p99, and replay speed on open.
// Run: npm run build && node dist/test/bench/storage-bench.js [--seconds 5] [--concurrency 64] [--dir /path]
import { tmpdir } from 'node:os';
import { RaftLogStore } from '../../raft/storage/index.js';
import type { Entry } from '../../raft/core/types.js';
import { exitOnInterrupt, scratchDir } from '../helpers/interrupt.js';
import { percentile, round } from './stats.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const seconds = Number(args.get('seconds') ?? 5);
const concurrency = Number(args.get('concurrency') ?? 64);
const payload = new Uint8Array(200).fill(0x61);

async function groupCommit(store: RaftLogStore): Promise<Record<string, number>> {
  let next = store.stats().lastIndex + 1;
  const before = store.stats();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  // Each persister takes the next index when it is its turn to queue, so the log stays contiguous.
  const worker = async () => {
    while (performance.now() < deadline) {
      const entry: Entry = { index: next++, term: 1, type: 'normal', data: payload };
      await store.persist({ hardState: null, entries: [entry], snapshot: null });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const after = store.stats();
  const fsyncs = after.fsyncs - before.fsyncs;
  const entries = after.entriesSynced - before.entriesSynced;
  return { concurrency, seconds: round(elapsed, 2), fsyncsPerSecond: round(fsyncs / elapsed), entriesPerFsync: round(entries / fsyncs, 2), entriesPerSecond: round(entries / elapsed) };
}

async function singleWriter(store: RaftLogStore): Promise<Record<string, number>> {
  const samples: number[] = [];
  let index = store.stats().lastIndex + 1;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const started = performance.now();
    await store.persist({ hardState: null, entries: [{ index: index++, term: 1, type: 'normal', data: payload }], snapshot: null });
    samples.push(performance.now() - started);
  }
  return { samples: samples.length, p50Ms: round(percentile(samples, 50), 3), p99Ms: round(percentile(samples, 99), 3), maxMs: round(Math.max(...samples), 3) };
}

async function main(): Promise<void> {
  const scratch = scratchDir('concord-storage-bench-', args.get('dir') ?? tmpdir());
  const dir = scratch.path;
  try {
    const store = await RaftLogStore.open({ dir });
    const group = await groupCommit(store);
    const single = await singleWriter(store);
    const { bytes, lastIndex } = store.stats();
    await store.close();
    // Start-up cost: replaying (and CRC-checking) everything written above.
    const started = performance.now();
    const reopened = await RaftLogStore.open({ dir });
    const replayMs = performance.now() - started;
    const replay = { entries: reopened.loaded().entries.length, mebibytes: round(bytes / 2 ** 20), ms: round(replayMs), mebibytesPerSecond: round(bytes / 2 ** 20 / (replayMs / 1000)) };
    if (replay.entries !== lastIndex) throw new Error(`replay found ${replay.entries} entries, expected ${lastIndex}`);
    await reopened.close();
    console.log(JSON.stringify({ dir, groupCommit: group, singleWriter: single, replay }, null, 2));
  } finally {
    scratch.remove();
  }
}

exitOnInterrupt();
await main();
