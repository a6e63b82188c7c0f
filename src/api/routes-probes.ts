// Cluster status, probes and the state checksum.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RaftError } from '../../raft/node-api.js';
import { errorBody, statusOf } from './errors.js';
import type { AppParts } from './http.js';

export function registerProbes(app: FastifyInstance, { config, raft, state }: AppParts): void {
  app.get('/api/status', async () => {
    const s = raft.status();
    return {
      node_id: config.node_id, role: s.role, term: s.term, current_leader: s.leader, commit_index: s.commit,
      applied_index: state.appliedIndex(), last_log_index: s.lastIndex, snapshot_index: s.snapshotIndex,
      voters: s.confState.voters, learners: s.confState.learners,
      peers: s.peers.map((p) => ({ id: p.id, address: `${p.host}:${p.port}`, match_index: p.matchIndex, last_contact_ms: p.lastContactMs })),
      storage: s.storage, durable_index: state.durableIndex(),
    };
  });
  app.get('/live', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const s = raft.status();
    const ready = s.leader !== null && s.storage.healthy && s.commit - state.appliedIndex() <= 100;
    return reply.code(ready ? 200 : 503).send({ ready, leader: s.leader, commit_index: s.commit, applied_index: state.appliedIndex() });
  });
  const health = async (_request: FastifyRequest, reply: FastifyReply) => {
    const s = raft.status();
    const healthy = s.storage.healthy && s.leader !== null;
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'healthy' : 'unhealthy', leader: s.leader, storage: s.storage });
  };
  app.get('/health', health);
  app.get('/api/health', health);
  app.get('/api/health/state_checksum', async () => ({ ...state.checksum(), checkpoints: state.checkpoints }));
  app.get('/api/cluster/members', async () => {
    const s = raft.status();
    return { leader: s.leader, voters: s.confState.voters, learners: s.confState.learners,
      members: [{ id: config.node_id, host: config.host, port: config.port }, ...s.peers.map((p) => ({ id: p.id, host: p.host, port: p.port, voter: p.voter }))] };
  });
  app.post('/api/cluster/transfer-leadership', async (request, reply) => {
    const target = (request.body as { target?: unknown } | undefined)?.target;
    if (target !== undefined && typeof target !== 'string') return reply.code(400).send(errorBody('CONCORD_ERR_VALIDATION', 'target must be a node id'));
    try {
      return { leader: await raft.transferLeadership(target) };
    } catch (error) {
      const code = error instanceof RaftError ? error.code : 'CONCORD_ERR_INTERNAL';
      return reply.code(statusOf(code)).send(errorBody(code, (error as Error).message));
    }
  });
  app.post('/api/cluster/snapshot', async () => {
    const taken = await raft.snapshotNow();
    return { index: taken.index, bytes: taken.bytes };
  });
  app.get('/api/debug/raft_log', async (request, reply) => {
    const query = request.query as Record<string, string>;
    const from = Number(query.from ?? 1);
    const limit = Math.min(Number(query.limit ?? 100), 1000);
    if (!Number.isInteger(from) || from < 1 || !Number.isInteger(limit) || limit < 1) {
      return reply.code(400).send(errorBody('CONCORD_ERR_VALIDATION', 'from and limit must be positive integers'));
    }
    return { entries: raft.logEntries(from, limit) };
  });
}
