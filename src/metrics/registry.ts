// Prometheus metrics of one node (prom-client, a private registry). Gauges are
// read at scrape time from the Raft node and the model; latencies are observed
// by the driver (RaftObserver) and by an HTTP hook.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RaftNodeHandle } from '../../raft/node-api.js';
import type { RaftObserver } from '../../raft/server.js';
import type { CoordinatorState } from '../state/coordinator-state.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface NodeMetrics {
  readonly registry: Registry;
  readonly observer: RaftObserver;
  /** Start reading gauges from the running node. */
  bind(raft: RaftNodeHandle, state: CoordinatorState): void;
  instrument(app: FastifyInstance): void;
}

export function createMetrics(): NodeMetrics {
  const registry = new Registry();
  // prom-client's default metrics include gauges named *_total, which promtool rejects;
  // the few process facts operators need are exported here instead.
  new Gauge({ name: 'concord_process_resident_memory_bytes', help: 'Resident set size.', registers: [registry],
    collect() { this.set(process.memoryUsage().rss); } });
  new Gauge({ name: 'concord_process_heap_used_bytes', help: 'V8 heap in use.', registers: [registry],
    collect() { this.set(process.memoryUsage().heapUsed); } });
  let raft: RaftNodeHandle | null = null;
  let state: CoordinatorState | null = null;
  const gauge = (name: string, help: string, read: (g: Gauge) => void, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() { if (raft !== null && state !== null) read(this); } });
  gauge('concord_raft_term', 'Current Raft term.', (g) => g.set(raft!.status().term));
  gauge('concord_raft_is_leader', '1 if this node is the leader.', (g) => g.set(raft!.isLeader() ? 1 : 0));
  gauge('concord_raft_has_leader', '1 if a leader is known.', (g) => g.set(raft!.status().leader === null ? 0 : 1));
  gauge('concord_raft_commit_index', 'Highest committed log index.', (g) => g.set(raft!.status().commit));
  gauge('concord_raft_applied_index', 'Highest applied log index.', (g) => g.set(state!.appliedIndex()));
  gauge('concord_raft_durable_index', 'Highest index flushed to DuckDB.', (g) => g.set(state!.durableIndex()));
  gauge('concord_raft_proposals_pending', 'Proposals waiting to be applied.', (g) => g.set(raft!.status().pendingProposals));
  gauge('concord_raft_peer_match_index', 'Leader only: match index per peer.', (g) => {
    for (const p of raft!.status().peers) if (p.matchIndex !== null) g.set({ peer: p.id }, p.matchIndex);
  }, ['peer']);
  gauge('coordinator_nodes', 'Registered storage nodes by status.', (g) => {
    const counts: Record<string, number> = { active: 0, inactive: 0, dead: 0, unregistered: 0 };
    for (const n of state!.model.nodes.values()) counts[n.status]++;
    for (const [status, n] of Object.entries(counts)) g.set({ status }, n);
  }, ['status']);
  gauge('coordinator_files', 'Registered files.', (g) => g.set(state!.model.files.size));
  gauge('coordinator_chunks', 'Distinct chunks of live files.', (g) => g.set(state!.model.replicas.chunkCount));
  gauge('coordinator_tasks', 'Tasks by status.', (g) => {
    const counts: Record<string, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const t of state!.model.tasks.values()) counts[t.status]++;
    for (const [status, n] of Object.entries(counts)) g.set({ status }, n);
  }, ['status']);
  const histogram = (name: string, help: string, labelNames: string[] = []) =>
    new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [registry] });
  const commit = histogram('concord_raft_commit_latency_seconds', 'Time from propose to applied, on the leader.');
  const fsync = histogram('concord_raft_persist_duration_seconds', 'Time to persist one Ready (write + fdatasync).');
  const apply = histogram('concord_raft_apply_duration_seconds', 'Time to apply one batch of committed entries.');
  const snapshots = histogram('concord_raft_snapshot_duration_seconds', 'Time to take a snapshot.');
  const failed = new Counter({ name: 'concord_raft_proposals_failed_total', help: 'Failed proposals.', registers: [registry] });
  const http = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request latency.', labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS, registers: [registry] });
  return {
    registry,
    observer: {
      onCommitLatency: (s) => commit.observe(s),
      onPersist: (s) => fsync.observe(s),
      onApply: (s) => apply.observe(s),
      onSnapshot: (s) => snapshots.observe(s),
      onProposalFailed: () => failed.inc(),
    },
    bind(r, s) {
      raft = r;
      state = s;
    },
    instrument(app) {
      app.addHook('onResponse', async (request, reply) => {
        http.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status_code: String(reply.statusCode) },
          reply.elapsedTime / 1000);
      });
      app.get('/metrics', async (_request, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));
    },
  };
}
