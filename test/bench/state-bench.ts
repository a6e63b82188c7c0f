// State machine benchmark: apply throughput by command kind (in memory), then
// flush rate to DuckDB. Run: npm run build && node dist/test/bench/state-bench.js
import { join } from 'node:path';
import type { Entry } from '../../raft/core/types.js';
import { CoordinatorState, encodeCommand, type CommandInput } from '../../src/state/index.js';
import { exitOnInterrupt, scratchDir } from '../helpers/interrupt.js';
import { median, round } from './stats.js';

type Cmd = CommandInput['cmd'];
exitOnInterrupt();
const scratch = scratchDir('concord-state-bench-');
const dir = scratch.path;
let index = 0;
const entry = (cmd: Cmd, ts: number): Entry => ({ index: ++index, term: 1, type: 'normal', data: encodeCommand({ v: 1, ts, cmd }) });

async function timed(state: CoordinatorState, entries: Entry[]): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < entries.length; i += 1000) await state.apply(entries.slice(i, i + 1000));
  return entries.length / ((performance.now() - started) / 1000);
}

const state = await CoordinatorState.open({ dbPath: join(dir, 'bench.duckdb'), flushIntervalMs: 3_600_000, flushRowsMax: 10_000_000 });
try {
  const registerEntries = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => entry({ type: 'node.register',
    id: `${prefix}${i}`, addresses: [`10.0.${i % 250}.${i % 200}:1`], storage_capacity: 1e12, capabilities: {}, zone: `z${i % 3}` }, 1));
  // The first 1,000 (the nodes used below) warm the JIT up; then three measured rounds of 5,000.
  await timed(state, registerEntries('n', 1000));
  const registerRounds: number[] = [];
  for (let r = 0; r < 3; r++) registerRounds.push(await timed(state, registerEntries(`extra${r}-`, 5000)));
  const register = median(registerRounds);
  const heartbeats = Array.from({ length: 20_000 }, (_, i) => entry({ type: 'node.heartbeat_batch', beats: [{ id: `n${i % 1000}`, used_bytes: i }] }, 2 + i));
  const heartbeat: number[] = [];
  for (let r = 0; r < 3; r++) heartbeat.push(await timed(state, heartbeats.slice(r * 6000, r * 6000 + 6000)));
  const files = Array.from({ length: 2000 }, (_, f) => entry({ type: 'file.register', file_id: `f${f}`, name: `file-${f}`, size: 10 * 65536,
    chunks: Array.from({ length: 10 }, (_, c) => ({ hash: `h${f}-${c}`, size: 65536 })) }, 50_000 + f));
  const fileRate = await timed(state, files);
  const tasks: Entry[] = [];
  for (let t = 0; t < 5000; t++) {
    tasks.push(entry({ type: 'task.submit', id: `t${t}`, kind: 'k', payload: { t }, priority: 0 }, 60_000 + t));
    tasks.push(entry({ type: 'task.claim', worker_id: `w${t}`, lease_ms: 60_000 }, 60_000 + t));
    tasks.push(entry({ type: 'task.complete', id: `t${t}`, worker_id: `w${t}`, result: null }, 60_000 + t));
  }
  const taskRate = await timed(state, tasks);
  const flushStarted = performance.now();
  const rows = (await state.model.replicas.size) + state.model.tasks.size + state.model.files.size + state.model.nodes.size;
  await state.flush();
  const flushSeconds = (performance.now() - flushStarted) / 1000;
  console.log(JSON.stringify({
    bench: 'state-machine',
    node_register_per_s_median: round(register),
    heartbeat_commands_per_s_median: round(median(heartbeat)),
    file_register_10_chunks_per_s: round(fileRate),
    task_submit_claim_complete_commands_per_s: round(taskRate),
    first_flush_rows: rows, first_flush_seconds: round(flushSeconds, 2), flush_rows_per_s: round(rows / flushSeconds),
  }, null, 2));
} finally {
  await state.close();
  scratch.remove();
}
