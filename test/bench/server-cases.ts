// The load cases of the server benchmark: reads of one seeded task by id
// (linearizable, lease and stale; on the leader, on every node, on the followers), then
// writes (task submit, the same with 256 clients, task submit through every node so
// followers forward, node register).
import type { ServerCluster } from '../helpers/server-cluster.js';
import { type Generator, generatorCores, type LoadRequest, type LoadResult, runLoad } from './load.js';
import { coresUsed, cpuSnapshot, peerSends, peerSummary, raftCounters, walSummary } from './node-probes.js';
import { median, round } from './stats.js';

export interface CaseSettings {
  readonly seconds: number;
  readonly concurrency: number;
  readonly repeats: number;
  readonly generator: Generator;
}

/** Which nodes the clients spread over: the leader, every node, or every node but the leader. */
export type Targets = 'leader' | 'all' | 'followers';

export interface CaseResult {
  readonly case: string;
  readonly nodes: number;
  readonly targets: Targets;
  /** Concurrent clients. */
  readonly clients: number;
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
  /** The requests the clients cycle through. */
  readonly requests: readonly LoadRequest[];
  /** Concurrent clients, if not the run's (`--concurrency`). */
  readonly clients?: number;
}

/** Clients of the write case that shows what the cluster takes when latency is not the limit. */
export const SATURATING_CLIENTS = 256;

const TASK_BODY = { kind: 'bench', payload: { n: 1 }, priority: 1 };
const TASK = JSON.stringify(TASK_BODY);
const NODE = JSON.stringify({ addresses: ['10.0.0.1:9000'], storage_capacity: 1_000_000_000_000, capabilities: { version: '1.0.0' }, zone: 'z1' });
/** Tasks submitted before the cases for the reads to read. */
const SEED_TASKS = 1024;

/** Submit `count` tasks through the leader, 64 at a time; returns their ids. */
export async function seedTasks(cluster: ServerCluster, leader: string, count = SEED_TASKS): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const answers = await Promise.all(Array.from({ length: Math.min(64, count - ids.length) }, () => cluster.call(leader, 'POST', '/api/v1/tasks', TASK_BODY)));
    for (const answer of answers) {
      if (answer.status !== 201) throw new Error(`seeding tasks: ${answer.status} ${JSON.stringify(answer.body)}`);
      ids.push((answer.body as { id: string }).id);
    }
  }
  return ids;
}

/** The names of the cases, in the order they run. */
export const caseNames = (nodes: number): string[] => serverCases(nodes, []).map((s) => s.name);

/** The cases for one cluster; the reads read the tasks `taskIds` names. */
export function serverCases(nodes: number, taskIds: readonly string[]): CaseSpec[] {
  const readTask = (query: string): LoadRequest[] => taskIds.map((id) => ({ method: 'GET', path: `/api/v1/tasks/${id}${query}` }));
  const specs: CaseSpec[] = [
    // Reads first, on a cluster that has seen only the seeded tasks.
    { name: 'read_linearizable_leader', kind: 'read', targets: 'leader', okStatus: 200, requests: readTask('') },
    { name: 'read_linearizable_all', kind: 'read', targets: 'all', okStatus: 200, requests: readTask('') },
    // Followers only: with 3 voters their ReadIndex requests are answered at once, with no heartbeat round (set beside _all and _leader).
    { name: 'read_linearizable_followers', kind: 'read', targets: 'followers', okStatus: 200, requests: readTask('') },
    { name: 'read_lease_leader', kind: 'read', targets: 'leader', okStatus: 200, requests: readTask('?consistency=lease') },
    { name: 'read_lease_all', kind: 'read', targets: 'all', okStatus: 200, requests: readTask('?consistency=lease') },
    { name: 'read_stale_all', kind: 'read', targets: 'all', okStatus: 200, requests: readTask('?consistency=stale') },
    // Writes after the reads, node registrations last: the storage nodes they register stop heartbeating, and the
    // liveness sweeps that mark tens of thousands of them inactive, then dead, would land in the cases after them.
    { name: 'task_submit', kind: 'write', targets: 'leader', okStatus: 201, requests: [{ method: 'POST', path: '/api/v1/tasks', body: TASK }] },
    // The same with 4× the clients: with 64 the 3-node cluster is bound by each write's latency, not by what it can take.
    { name: `task_submit_${SATURATING_CLIENTS}_clients`, kind: 'write', targets: 'leader', okStatus: 201, clients: SATURATING_CLIENTS,
      requests: [{ method: 'POST', path: '/api/v1/tasks', body: TASK }] },
    { name: 'task_submit_via_all', kind: 'write', targets: 'all', okStatus: 201, requests: [{ method: 'POST', path: '/api/v1/tasks', body: TASK }] },
    { name: 'node_register', kind: 'write', targets: 'leader', okStatus: 201, requests: [{ method: 'POST', path: '/api/v1/nodes/register', body: NODE }] },
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
    const live = cluster.live();
    const ids = spec.targets === 'leader' ? [leader] : live.filter((id) => spec.targets === 'all' || id !== leader);
    const targets = ids.map((id) => cluster.origin(id));
    const countersBefore = spec.kind === 'write' ? await raftCounters(cluster, leader) : null;
    const sendsBefore = await Promise.all(live.map((id) => peerSends(cluster, id)));
    const cpuBefore = cpuSnapshot(cluster);
    const started = performance.now();
    const run = await runLoad({ targets, concurrency: spec.clients ?? settings.concurrency, seconds: settings.seconds, okStatus: spec.okStatus,
      requests: spec.requests }, settings.generator);
    runs.push(run);
    const elapsed = (performance.now() - started) / 1000;
    const used = coresUsed(cpuBefore, cpuSnapshot(cluster), elapsed);
    cores = { loadgen: generatorCores(run, elapsed), ...Object.fromEntries(Object.entries(used).map(([name, c]) => [name === leader ? `leader:${name}` : name, c])) };
    if (spec.kind === 'write') wal = walSummary(countersBefore, await raftCounters(cluster, leader), elapsed);
    peers = peerSummary(sendsBefore, await Promise.all(live.map((id) => peerSends(cluster, id))), run.ok);
  }
  const cpu = Object.values(cores).reduce((a, b) => a + b, 0);
  const last = runs[runs.length - 1];
  const failures: Record<string, number> = {};
  for (const run of runs) for (const [k, v] of Object.entries(run.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    case: spec.name, nodes: cluster.size, targets: spec.targets, clients: spec.clients ?? settings.concurrency,
    per_second: round(median(runs.map((r) => r.per_second))),
    p50_ms: round(median(runs.map((r) => r.p50_ms)), 2),
    p99_ms: round(median(runs.map((r) => r.p99_ms)), 2),
    failed: runs.reduce((a, r) => a + r.failed, 0), failures, runs, cores, wal, peers,
    cpu_ms_per_op: round((cpu / Math.max(1, last.per_second)) * 1000, 2),
  };
}
