// State machine at scale (issue 4): 10,000 nodes, 100,000 files, 1,000,000 replicas.
// Phase "build" (a child process) applies the commands that create that state and
// flushes it to DuckDB; phase "load" (a fresh child, so RSS is not the builder's)
// opens the database, reports load time and RSS, takes a snapshot and installs it on a
// fresh state, then again over what that install loaded. Run: npm run build && node dist/test/bench/scale-bench.js
// Sizes scale with SCALE (default 1; 0.1 for a quick look); IDLE_SECONDS (default 20) is
// how long the load phase idles before its last RSS reading.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Entry } from '../../raft/core/types.js';
import { CoordinatorState, encodeCommand, type CommandInput } from '../../src/state/index.js';
import { atInterrupt, exitOnInterrupt, scratchDir } from '../helpers/interrupt.js';
import { round } from './stats.js';

type Cmd = CommandInput['cmd'];
const scale = Number(process.env.SCALE ?? 1);
const NODES = Math.round(10_000 * scale);
const FILES = Math.round(100_000 * scale);
const memoryLimitMb = Number(process.env.DB_MEMORY_LIMIT ?? 64);
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 20);

async function build(dbPath: string): Promise<Record<string, number>> {
  const state = await CoordinatorState.open({ dbPath, memoryLimitMb, flushIntervalMs: 3_600_000, flushRowsMax: 200_000 });
  let index = 0;
  let batch: Entry[] = [];
  const push = async (cmd: Cmd, ts: number) => {
    batch.push({ index: ++index, term: 1, type: 'normal', data: encodeCommand({ v: 1, ts, cmd }) });
    if (batch.length >= 1000) {
      await state.apply(batch);
      batch = [];
    }
  };
  const started = performance.now();
  for (let i = 0; i < NODES; i++) {
    await push({ type: 'node.register', id: `node-${i}`, addresses: [`10.${(i >> 8) & 255}.${i & 255}.1:7000`], storage_capacity: 4e12,
      capabilities: { version: '1.0.0' }, zone: `zone-${i % 5}` }, 1_000);
  }
  const nodesDone = performance.now();
  // 3 or 4 chunks per file (3.33 on average) with factor 3: 1,000,000 replicas.
  for (let f = 0; f < FILES; f++) {
    const chunks = Array.from({ length: f % 3 === 0 ? 4 : 3 }, (_, c) => ({ hash: `${f.toString(16).padStart(8, '0')}${c}`.padEnd(64, 'a'), size: 4_194_304 }));
    await push({ type: 'file.register', file_id: `file-${f}`, name: `/data/set-${f % 100}/object-${f}`, size: chunks.length * 4_194_304, chunks }, 2_000 + f);
  }
  if (batch.length > 0) await state.apply(batch);
  const filesDone = performance.now();
  await state.flush();
  const flushed = performance.now();
  const counts = { nodes: state.model.nodes.size, files: state.model.files.size, replicas: state.model.replicas.size };
  await state.close();
  return {
    ...counts, node_register_per_s: round(NODES / ((nodesDone - started) / 1000)),
    file_register_per_s: round(FILES / ((filesDone - nodesDone) / 1000)), final_flush_s: round((flushed - filesDone) / 1000, 2),
  };
}

const mb = (bytes: number): number => round(bytes / 2 ** 20);
const peakMb = (): number => mb(process.resourceUsage().maxRSS * 1024);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function load(dbPath: string, dir: string): Promise<Record<string, number | string>> {
  // No gc() of the bench's own: RSS is read as a node has it, whose load and install end
  // with their own collection (see src/state/collect-garbage.ts).
  const started = performance.now();
  let state: CoordinatorState | null = await CoordinatorState.open({ dbPath, memoryLimitMb, flushIntervalMs: 3_600_000 });
  const loadSeconds = (performance.now() - started) / 1000;
  const rss = process.memoryUsage().rss;
  const heap = process.memoryUsage().heapUsed;
  const peakLoad = peakMb();
  // Memory freed at the end of the load reaches the system over the next second or so
  // (DuckDB's allocator hands it back on a background thread).
  await sleep(1000);
  const rss1s = process.memoryUsage().rss;
  // And after IDLE_SECONDS (default 20) of idling, as a node after start-up or a snapshot install:
  // V8's memory reducer has usually run by then (it shrinks the young generation the load grew: ~30 MB).
  await sleep((idleSeconds - 1) * 1000);
  const rssIdle = process.memoryUsage().rss;
  const snapStarted = performance.now();
  const snapshot = await state.createSnapshot(join(dir, 'snapshot.duckdb'));
  const snapshotSeconds = (performance.now() - snapStarted) / 1000;
  const checksum = state.checksum().checksum;
  await state.close();
  state = null; // a closed state still holds its model: the installs below must not count it
  // Installed twice: on a fresh state (a node that just joined) right away, as the node
  // has idled IDLE_SECONDS; then, after idling as long again, over the model the first
  // install loaded (a follower far behind: two models at once, the worst case for memory).
  const other = await CoordinatorState.open({ dbPath: join(dir, 'other.duckdb'), memoryLimitMb, flushIntervalMs: 3_600_000 });
  const install = async (idle: boolean): Promise<number> => {
    if (idle) await sleep(idleSeconds * 1000);
    const installStarted = performance.now();
    await other.restoreSnapshot(snapshot.path, snapshot.index);
    const seconds = (performance.now() - installStarted) / 1000;
    if (other.checksum().checksum !== checksum) throw new Error('installed snapshot has a different checksum');
    return seconds;
  };
  const installSeconds = await install(false);
  const reinstallSeconds = await install(true);
  await sleep(1000);
  const rssInstall1s = process.memoryUsage().rss;
  await sleep((idleSeconds - 1) * 1000);
  const rssInstallIdle = process.memoryUsage().rss;
  await other.close();
  return {
    load_seconds: round(loadSeconds, 2), rss_mb_after_load: mb(rss), rss_mb_1s_after_load: mb(rss1s),
    [`rss_mb_idle_${idleSeconds}s`]: mb(rssIdle), rss_mb_peak_in_load: peakLoad, heap_mb_after_load: mb(heap),
    snapshot_create_seconds: round(snapshotSeconds, 2), snapshot_bytes: snapshot.bytes, snapshot_install_seconds: round(installSeconds, 2),
    snapshot_install_over_loaded_seconds: round(reinstallSeconds, 2), rss_mb_1s_after_install: mb(rssInstall1s),
    [`rss_mb_idle_${idleSeconds}s_after_install`]: mb(rssInstallIdle), rss_mb_peak: peakMb(), // over the whole run: its second install is over a loaded model
  };
}

/**
 * Run one phase in a fresh process (its RSS is the phase's own), its JSON answer on
 * stdout. Asynchronously, so a signal to this process can still stop it (`exitOnInterrupt`).
 */
async function phase(args: string[]): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const forget = atInterrupt(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString('utf8'); });
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  forget();
  if (code !== 0) throw new Error(`scale-bench ${args[0]} exited with ${code}`);
  return JSON.parse(out) as Record<string, unknown>;
}

const [step, dbPath, dir] = process.argv.slice(2);
if (step === 'build') {
  process.stdout.write(JSON.stringify(await build(dbPath)));
} else if (step === 'load') {
  process.stdout.write(JSON.stringify(await load(dbPath, dir)));
} else {
  exitOnInterrupt();
  const scratch = scratchDir('concord-scale-');
  try {
    const db = join(scratch.path, 'state.duckdb');
    const built = await phase(['build', db]);
    const loaded = await phase(['load', db, scratch.path]);
    console.log(JSON.stringify({ bench: 'state-machine-scale', scale, db_memory_limit_mb: memoryLimitMb, ...built, ...loaded }, null, 2));
  } finally {
    scratch.remove();
  }
}
