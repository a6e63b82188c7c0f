// Prometheus metrics of one node (prom-client, a private registry). Gauges are
// read at scrape time from the Raft node and the model; latencies and counts are
// observed by the driver (RaftObserver), leader changes by a listener, HTTP by a hook.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PeerStatus, RaftNodeHandle } from '../../raft/node-api.js';
import type { RaftObserver } from '../../raft/server.js';
import { ROLES, roleName } from '../api/role-name.js';
import type { CoordinatorState } from '../state/coordinator-state.js';
import type { Model } from '../state/model.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface NodeMetrics {
  readonly registry: Registry;
  readonly observer: RaftObserver;
  /** Start reading gauges from the running node (and counting its leader changes). */
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
  // Labelled gauges start empty on every scrape, so a removed peer or a lost leadership leaves no stale series.
  const gauge = (name: string, help: string, read: (g: Gauge) => void, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() {
      if (labelNames.length > 0) this.reset();
      if (raft !== null && state !== null) read(this);
    } });
  gauge('concord_raft_term', 'Current Raft term.', (g) => g.set(raft!.status().term));
  gauge('concord_raft_is_leader', '1 if this node is the leader.', (g) => g.set(raft!.isLeader() ? 1 : 0));
  gauge('concord_raft_has_leader', '1 if a leader is known.', (g) => g.set(raft!.status().leader === null ? 0 : 1));
  gauge('concord_raft_role', '1 for the Raft role this node is in, 0 for the others.', (g) => {
    const role = raft!.status().role;
    for (const r of ROLES) g.set({ role: roleName(r) }, r === role ? 1 : 0);
  }, ['role']);
  gauge('concord_raft_commit_index', 'Highest committed log index.', (g) => g.set(raft!.status().commit));
  gauge('concord_raft_applied_index', 'Highest applied log index.', (g) => g.set(state!.appliedIndex()));
  gauge('concord_raft_durable_index', 'Highest index flushed to DuckDB.', (g) => g.set(state!.durableIndex()));
  gauge('concord_raft_proposals_pending', 'Proposals waiting to be applied.', (g) => g.set(raft!.status().pendingProposals));
  gauge('concord_raft_peer_match_index', 'Leader only: match index per peer.', (g) => {
    for (const p of raft!.status().peers) if (p.matchIndex !== null) g.set({ peer: p.id }, p.matchIndex);
  }, ['peer']);
  gauge('concord_raft_peer_lag_entries', 'Leader only: committed entries a peer has not acknowledged (commit - match).', (g) => {
    const status = raft!.status();
    for (const p of status.peers) if (p.matchIndex !== null) g.set({ peer: p.id }, Math.max(0, status.commit - p.matchIndex));
  }, ['peer']);
  gauge('concord_raft_peer_rtt_seconds', 'Round-trip time of the last ping answered on the stream to a peer.', (g) => {
    for (const p of raft!.status().peers) if (p.rttMs !== null) g.set({ peer: p.id }, p.rttMs / 1000);
  }, ['peer']);
  // Counters kept by the transport, read at scrape time (a channel made again after a membership change starts from 0).
  const peerCounter = (name: string, help: string, read: (p: PeerStatus) => number) =>
    new Counter({ name, help, labelNames: ['peer'], registers: [registry], collect() {
      this.reset();
      if (raft !== null) for (const p of raft.status().peers) this.inc({ peer: p.id }, read(p));
    } });
  peerCounter('concord_raft_peer_sent_messages_total', 'Raft messages sent to a peer on its stream.', (p) => p.messagesSent);
  peerCounter('concord_raft_peer_sent_frames_total', 'Frames (socket writes) that carried them: messages of one event-loop turn share one.', (p) => p.framesSent);
  domainGauges(gauge, () => state!.model, () => state!.appliedIndex());
  const histogram = (name: string, help: string, labelNames: string[] = []) =>
    new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [registry] });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const commit = histogram('concord_raft_commit_latency_seconds', 'Time from propose to applied, on the leader.');
  const fsync = histogram('concord_raft_persist_duration_seconds', 'Time to persist one Ready (write + fdatasync).');
  const apply = histogram('concord_raft_apply_duration_seconds', 'Time to apply one batch of committed entries.');
  const snapshots = histogram('concord_raft_snapshot_duration_seconds', 'Time to take a snapshot (its _count: snapshots taken).');
  const installed = counter('concord_raft_snapshots_installed_total', 'Snapshots received from the leader and installed.');
  const flushes = histogram('concord_state_flush_duration_seconds', 'Time to write one batch of state changes to DuckDB (its _count: flushes).');
  const flushedRows = counter('concord_state_flushed_rows_total', 'Rows the flusher wrote to or deleted from DuckDB.');
  const failed = counter('concord_raft_proposals_failed_total', 'Failed proposals.');
  const committed = counter('concord_raft_proposals_committed_total', 'Log entries this node learned are committed.');
  const applied = counter('concord_raft_proposals_applied_total', 'Log entries applied to the state machine.');
  const leaderChanges = counter('concord_raft_leader_changes_total', 'Times this node saw a new leader.');
  const readRounds = counter('concord_raft_read_index_rounds_total', 'ReadIndex rounds this node started (each confirms a batch of reads).');
  const leaseReads = counter('concord_raft_lease_reads_total', 'Lease reads (its own, and follower lease-read rounds) this leader answered from its read lease, without a round.');
  const http = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request latency.', labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS, registers: [registry] });
  return {
    registry,
    observer: {
      onCommitLatency: (s) => commit.observe(s),
      onPersist: (s) => fsync.observe(s),
      onCommit: (n) => committed.inc(n),
      onApply: (s, n) => {
        apply.observe(s);
        applied.inc(n);
      },
      onSnapshot: (s) => snapshots.observe(s),
      onSnapshotInstalled: () => installed.inc(),
      onProposalFailed: () => failed.inc(),
      onReadRound: () => readRounds.inc(),
      onLeaseRead: () => leaseReads.inc(),
    },
    bind(r, s) {
      raft = r;
      state = s;
      r.onLeaderChange((leader) => { if (leader !== null) leaderChanges.inc(); });
      s.onFlush((seconds, rows) => {
        flushes.observe(seconds);
        flushedRows.inc(rows);
      });
    },
    instrument(app) {
      app.addHook('onResponse', (request, reply, done) => {
        http.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status_code: String(reply.statusCode) },
          reply.elapsedTime / 1000);
        done();
      });
      app.get('/metrics', async (_request, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));
    },
  };
}

type GaugeFactory = (name: string, help: string, read: (g: Gauge) => void, labelNames?: string[]) => Gauge;

/** Domain gauges from the in-memory model (the same counts /api/v1/network/stats gets from SQL). */
function domainGauges(gauge: GaugeFactory, model: () => Model, appliedIndex: () => number): void {
  gauge('coordinator_nodes', 'Registered storage nodes by status.', (g) => {
    const counts: Record<string, number> = { active: 0, inactive: 0, dead: 0, unregistered: 0 };
    for (const n of model().nodes.values()) counts[n.status]++;
    for (const [status, n] of Object.entries(counts)) g.set({ status }, n);
  }, ['status']);
  gauge('coordinator_files', 'Registered files.', (g) => g.set(model().files.size));
  gauge('coordinator_chunks', 'Distinct chunks of live files.', (g) => g.set(model().replicas.chunkCount));
  // One pass over the chunks (about 15 ms per 300k on a laptop core), so only when something was applied since the last scrape.
  let under = { model: null as Model | null, applied: -1, count: 0 };
  gauge('coordinator_under_replicated_chunks', 'Chunks of live files with fewer replicas on active nodes than their replication factor.', (g) => {
    if (under.model !== model() || under.applied !== appliedIndex()) under = { model: model(), applied: appliedIndex(), count: model().underReplicatedChunks() };
    g.set(under.count);
  });
  gauge('coordinator_tasks', 'Tasks by status.', (g) => {
    const counts: Record<string, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const t of model().tasks.values()) counts[t.status]++;
    for (const [status, n] of Object.entries(counts)) g.set({ status }, n);
  }, ['status']);
}
