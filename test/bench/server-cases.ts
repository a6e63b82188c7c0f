// The load cases of the server benchmark: writes (task submit, node register, task
// submit through every node so followers forward) and reads of one task by id
// (linearizable on the leader, linearizable on every node, stale on every node).
import type { ServerCluster } from '../helpers/server-cluster.js';
import { runLoad, type LoadRequest, type LoadResult } from './load.js';
import { coresUsed, cpuSnapshot, peerSends, peerSummary, raftCounters, walSummary } from './node-probes.js';
import { median, round } from './stats.js';

export interface CaseSettings {
  readonly seconds: number;
  readonly concurrency: number;
  readonly repeats: number;
}

/** Which nodes the clients spread over: the leader, every node, or every node but the leader. */
export type Targets = 'leader' | 'all' | 'followers';

export interface CaseResult {
  readonly case: string;
  readonly nodes: number;
  readonly targets: Targets;
  /** Medians over the repeats. */
  readonly per_second: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly runs: readonly LoadResult[];
  /** Cores used per process during the last repeat (`leader:<id>` marks the leader). */
  readonly cores: Record<string, number>;
  /** CPU milliseconds per successful request, all processes together (nodes and load generator), last repeat. */
  readonly cpu_ms_per_op: number;
  /** Leader WAL and apply counters during the last repeat (writes only). */
  readonly wal: ReturnType<typeof walSummary>;
  /** Peer-stream frames per request and messages per frame, all nodes, last repeat. */
  readonly peers: ReturnType<typeof peerSummary>;
}

interface CaseSpec {
  readonly name: string;
  readonly kind: 'write' | 'read';
  readonly targets: Targets;
  readonly okStatus: number;
  readonly next: (client: number, sequence: number) => LoadRequest;
  readonly collect?: (body: unknown) => boolean;
}

const TASK = JSON.stringify({ kind: 'bench', payload: { n: 1 }, priority: 1 });
const NODE = JSON.stringify({ addresses: ['10.0.0.1:9000'], storage_capacity: 1_000_000_000_000, capabilities: { version: '1.0.0' }, zone: 'z1' });
const KEPT_IDS = 4096;

/** The cases for one cluster; task ids created by the first case feed the reads. */
export function serverCases(nodes: number): CaseSpec[] {
  const taskIds: string[] = [];
  const keepId = (body: unknown) => {
    taskIds.push((body as { id: string }).id);
    return taskIds.length < KEPT_IDS;
  };
  const readTask = (query: string) => (_client: number, sequence: number): LoadRequest =>
    ({ method: 'GET', path: `/api/v1/tasks/${taskIds[sequence % taskIds.length]}${query}` });
  const specs: CaseSpec[] = [
    { name: 'task_submit', kind: 'write', targets: 'leader', okStatus: 201, collect: keepId, next: () => ({ method: 'POST', path: '/api/v1/tasks', body: TASK }) },
    { name: 'node_register', kind: 'write', targets: 'leader', okStatus: 201, next: () => ({ method: 'POST', path: '/api/v1/nodes/register', body: NODE }) },
    { name: 'task_submit_via_all', kind: 'write', targets: 'all', okStatus: 201, next: () => ({ method: 'POST', path: '/api/v1/tasks', body: TASK }) },
    { name: 'read_linearizable_leader', kind: 'read', targets: 'leader', okStatus: 200, next: readTask('') },
    { name: 'read_linearizable_all', kind: 'read', targets: 'all', okStatus: 200, next: readTask('') },
    // Followers only: with 3 voters their ReadIndex requests are answered at once, with no heartbeat round (set beside _all and _leader).
    { name: 'read_linearizable_followers', kind: 'read', targets: 'followers', okStatus: 200, next: readTask('') },
    { name: 'read_lease_leader', kind: 'read', targets: 'leader', okStatus: 200, next: readTask('?consistency=lease') },
    { name: 'read_lease_all', kind: 'read', targets: 'all', okStatus: 200, next: readTask('?consistency=lease') },
    { name: 'read_stale_all', kind: 'read', targets: 'all', okStatus: 200, next: readTask('?consistency=stale') },
  ];
  // On one node "all" is the leader: those cases would repeat the leader-only ones.
  return nodes === 1 ? specs.filter((s) => s.targets === 'leader' || s.name === 'read_stale_all') : specs;
}

export async function runCase(cluster: ServerCluster, spec: CaseSpec, settings: CaseSettings): Promise<CaseResult> {
  const runs: LoadResult[] = [];
  let cores: Record<string, number> = {};
  let wal: ReturnType<typeof walSummary> = null;
  let peers: ReturnType<typeof peerSummary> = null;
  for (let r = 0; r < settings.repeats; r++) {
    const leader = await cluster.leader();
    const ids = spec.targets === 'leader' ? [leader] : cluster.live().filter((id) => spec.targets === 'all' || id !== leader);
    const targets = ids.map((id) => cluster.origin(id));
    const countersBefore = spec.kind === 'write' ? await raftCounters(cluster, leader) : null;
    const live = cluster.live();
    const sendsBefore = await Promise.all(live.map((id) => peerSends(cluster, id)));
    const cpuBefore = cpuSnapshot(cluster);
    const started = performance.now();
    runs.push(await runLoad({ targets, concurrency: settings.concurrency, seconds: settings.seconds, okStatus: spec.okStatus,
      next: spec.next, ...(r === 0 && spec.collect ? { collect: spec.collect } : {}) }));
    const elapsed = (performance.now() - started) / 1000;
    const used = coresUsed(cpuBefore, cpuSnapshot(cluster), elapsed);
    cores = Object.fromEntries(Object.entries(used).map(([name, c]) => [name === leader ? `leader:${name}` : name, c]));
    if (spec.kind === 'write') wal = walSummary(countersBefore, await raftCounters(cluster, leader), elapsed);
    peers = peerSummary(sendsBefore, await Promise.all(live.map((id) => peerSends(cluster, id))), runs[runs.length - 1]!.ok);
  }
  const cpu = Object.values(cores).reduce((a, b) => a + b, 0);
  const last = runs[runs.length - 1];
  const failures: Record<string, number> = {};
  for (const run of runs) for (const [k, v] of Object.entries(run.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    case: spec.name, nodes: cluster.size, targets: spec.targets,
    per_second: round(median(runs.map((r) => r.per_second))),
    p50_ms: round(median(runs.map((r) => r.p50_ms)), 2),
    p99_ms: round(median(runs.map((r) => r.p99_ms)), 2),
    failed: runs.reduce((a, r) => a + r.failed, 0), failures, runs, cores, wal, peers,
    cpu_ms_per_op: round((cpu / Math.max(1, last.per_second)) * 1000, 2),
  };
}
