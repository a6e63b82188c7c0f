// Cluster status, probes and the state checksum.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
}
