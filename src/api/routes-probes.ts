// Cluster status, probes and the state checksum.
import { stat, statfs } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { NodeStatus } from '../../raft/node-api.js';
import { type AppParts, jsonSchema } from './http.js';
import { roleName } from './role-name.js';

const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

const RAFT_LOG_LIMIT_MAX = 1000;
/** Query strings stay strings (no coercion): positive integers as digits. */
const positiveDigits = z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer');
const raftLogQuery = z.object({ from: positiveDigits.optional(), limit: positiveDigits.optional() });

/** /ready allows this many entries between what the cluster committed (as this node knows) and what it applied. */
const READY_LAG_ENTRIES_MAX = 100;

/**
 * /ready: a member (voter or learner) that knows a leader, has a working disk and has
 * applied to within READY_LAG_ENTRIES_MAX of the cluster's commit index as its leader
 * announced it (`leaderCommit`: a follower still catching up has committed only what it
 * holds, so its own commit index would call it ready).
 */
export function readiness(s: Pick<NodeStatus, 'confState' | 'leader' | 'storage' | 'commit' | 'leaderCommit'>, nodeId: string, applied: number) {
  const member = s.confState.voters.includes(nodeId) || s.confState.learners.includes(nodeId);
  const ready = member && s.leader !== null && s.storage.healthy && s.leaderCommit - applied <= READY_LAG_ENTRIES_MAX;
  return { ready, member, leader: s.leader, commit_index: s.commit, leader_commit_index: s.leaderCommit, applied_index: applied };
}

function storageView(storage: NodeStatus['storage']) {
  return { healthy: storage.healthy, error: storage.error, log_bytes: storage.logBytes };
}

export function registerProbes(app: FastifyInstance, { config, raft, state }: AppParts): void {
  app.get('/api/status', async () => {
    const s = raft.status();
    return {
      node_id: config.node_id, role: roleName(s.role), term: s.term, current_leader: s.leader, commit_index: s.commit,
      applied_index: state.appliedIndex(), last_log_index: s.lastIndex, snapshot_index: s.snapshotIndex,
      voters: s.confState.voters, learners: s.confState.learners,
      peers: s.peers.map((p) => ({ id: p.id, address: `${p.host}:${p.port}`, match_index: p.matchIndex, last_contact_ms: p.lastContactMs })),
      storage: storageView(s.storage), durable_index: state.durableIndex(),
    };
  });
  // Liveness: the event loop answered (else the probe times out), the log store works and
  // the state's database takes flushes (after a failed one only a restart recovers).
  app.get('/live', async (_request, reply) => {
    const { storage } = raft.status();
    if (!storage.healthy) return reply.code(503).send({ status: 'storage failing', storage: storageView(storage) });
    const failure = state.flushFailure;
    return failure === null ? { status: 'ok' } : reply.code(503).send({ status: 'state database failing', error: failure.message });
  });
  app.get('/ready', async (_request, reply) => {
    const answer = readiness(raft.status(), config.node_id, state.appliedIndex());
    return reply.code(answer.ready ? 200 : 503).send(answer);
  });
  const health = async (_request: FastifyRequest, reply: FastifyReply) => {
    const s = raft.status();
    const healthy = s.storage.healthy && s.leader !== null;
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'healthy' : 'unhealthy', leader: s.leader, storage: storageView(s.storage) });
  };
  app.get('/health', health);
  app.get('/api/health', health);
  app.get('/api/health/state_checksum', async () => {
    const { checksum, appliedIndex } = state.checksum();
    return { checksum, applied_index: appliedIndex, checkpoints: state.checkpoints };
  });
  app.get('/api/cluster/members', async () => {
    const s = raft.status();
    return { leader: s.leader, voters: s.confState.voters, learners: s.confState.learners,
      members: [{ id: config.node_id, host: config.host, port: config.port }, ...s.peers.map((p) => ({ id: p.id, host: p.host, port: p.port, voter: p.voter }))] };
  });
  app.post('/api/cluster/snapshot', async () => {
    const taken = await raft.snapshotNow();
    return { index: taken.index, bytes: taken.bytes };
  });
  app.get('/api/debug/raft_log', { schema: { querystring: jsonSchema(raftLogQuery) } }, async (request) => {
    const query = request.query as z.infer<typeof raftLogQuery>;
    return { entries: raft.logEntries(Number(query.from ?? 1), Math.min(Number(query.limit ?? 100), RAFT_LOG_LIMIT_MAX)) };
  });
  app.get('/api/health/db', async (_request, reply) => {
    const failure = state.flushFailure;
    if (failure !== null) return reply.code(503).send({ status: 'failing', error: failure.message, flushed_index: state.durableIndex(), applied_index: state.appliedIndex() });
    const db = await state.checksumFromDatabase();
    const consistent = db.checksum === db.modelChecksum && db.storedChecksum === db.modelChecksum;
    const size = await stat(config.db_path).then((s) => s.size, () => null);
    return reply.code(consistent ? 200 : 503).send({ status: consistent ? 'healthy' : 'diverged', model_checksum: db.modelChecksum,
      db_checksum: db.checksum, stored_checksum: db.storedChecksum, flushed_index: db.flushedIndex, applied_index: state.appliedIndex(), db_bytes: size });
  });
  app.get('/api/health/log', async (_request, reply) => {
    const s = raft.status();
    return reply.code(s.storage.healthy ? 200 : 503).send({ status: s.storage.healthy ? 'healthy' : 'unhealthy', error: s.storage.error,
      first_index: s.firstIndex, last_index: s.lastIndex, commit_index: s.commit, snapshot_index: s.snapshotIndex, log_bytes: s.storage.logBytes });
  });
  app.get('/api/health/resources', async () => {
    const memory = process.memoryUsage();
    const disk = await statfs(config.data_dir).catch(() => null);
    return { rss_bytes: memory.rss, heap_used_bytes: memory.heapUsed, event_loop_delay_ms: loopDelay.mean / 1e6,
      event_loop_delay_p99_ms: loopDelay.percentile(99) / 1e6, disk_free_bytes: disk === null ? null : disk.bavail * disk.bsize,
      log_bytes: raft.status().storage.logBytes, db_bytes: await stat(config.db_path).then((s) => s.size, () => null) };
  });
  app.get('/api/health/operations', async () => {
    const s = raft.status();
    return { pending_proposals: s.pendingProposals, pending_reads: s.pendingReads, snapshot_in_progress: s.snapshotInProgress,
      membership_change_pending: s.pendingConfIndex > s.applied, leadership_transfer: s.transferee };
  });
}
