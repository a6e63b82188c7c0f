// The HTTP API (first increment of DESIGN §4): cluster status and probes, node
// registration and reads, the task queue, maintenance. Writes run on the leader
// (a follower forwards them); reads are linearizable unless ?consistency=stale.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { request as httpRequest } from 'undici';
import { z } from 'zod';
import type { RaftNodeHandle } from '../../raft/node-api.js';
import { RaftError } from '../../raft/node-api.js';
import type { ConcordConfig } from '../config/index.js';
import type { CoordinatorState } from '../state/coordinator-state.js';
import { encodeCommand, type CommandInput, type CommandResult } from '../state/index.js';
import { errorBody, statusOf } from './errors.js';

export interface AppParts {
  readonly config: Readonly<ConcordConfig>;
  readonly raft: RaftNodeHandle;
  readonly state: CoordinatorState;
}

type Cmd = CommandInput['cmd'];

const schemas = {
  registerNode: z.object({
    addresses: z.array(z.string().min(1).max(256)).min(1).max(16),
    storage_capacity: z.number().int().min(0),
    capabilities: z.record(z.string(), z.string()).optional(),
    zone: z.string().min(1).max(64).optional(),
  }).strict(),
  heartbeat: z.object({ used_bytes: z.number().int().min(0) }).passthrough(),
  submitTask: z.object({
    kind: z.string().min(1).max(128), payload: z.unknown().optional(), priority: z.number().int().optional(),
    required_capabilities: z.array(z.string()).optional(), max_attempts: z.number().int().min(1).max(100).optional(),
  }).strict(),
  claim: z.object({ worker_id: z.string().min(1).max(128), capabilities: z.array(z.string()).optional(), lease_ms: z.number().int().min(1).max(86_400_000).default(30_000) }).strict(),
  maintenance: z.object({ reason: z.string().max(1024).optional() }).strict(),
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

function sendError(reply: FastifyReply, code: string, message: string) {
  return reply.code(statusOf(code)).send(errorBody(code, message));
}

function sendResult(reply: FastifyReply, result: CommandResult, okStatus = 200) {
  if (result.ok) return reply.code(okStatus).send(result.value);
  return sendError(reply, result.error.code, result.error.message);
}

export function buildApp(parts: AppParts): FastifyInstance {
  // No type coercion: a number where a string belongs is a 400, not a silent conversion.
  const app = Fastify({ logger: false, bodyLimit: parts.config.body_limit_bytes, ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } });
  app.setErrorHandler((error: { statusCode?: number; validation?: unknown; message: string }, _request, reply) => {
    if (error.validation !== undefined || error.statusCode === 400) return sendError(reply, 'CONCORD_ERR_VALIDATION', error.message);
    if (error.statusCode === 413) return sendError(reply, 'CONCORD_ERR_PAYLOAD_TOO_LARGE', error.message);
    return sendError(reply, 'CONCORD_ERR_INTERNAL', error.message);
  });
  registerProbes(app, parts);
  registerWrites(app, parts);
  registerReads(app, parts);
  return app;
}

function registerProbes(app: FastifyInstance, { config, raft, state }: AppParts): void {
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

/** Run a write on the leader: forward from a follower, stamp and propose on the leader. */
async function write(parts: AppParts, request: FastifyRequest, reply: FastifyReply, build: () => Cmd, okStatus = 200) {
  const { raft } = parts;
  if (!raft.isLeader()) return forward(parts, request, reply);
  const key = request.headers['idempotency-key'];
  const envelope: CommandInput = { v: 1, ts: Date.now(), cmd: build(), ...(typeof key === 'string' && key.length > 0 ? { idempotency_key: key.slice(0, 256) } : {}) };
  try {
    const { result } = await raft.propose(encodeCommand(envelope), { timeoutMs: parts.config.request_timeout_ms });
    return sendResult(reply, result as CommandResult, okStatus);
  } catch (error) {
    if (error instanceof RaftError) {
      if (error.code === 'CONCORD_ERR_NOT_LEADER') return forward(parts, request, reply);
      return sendError(reply, error.code, error.message);
    }
    throw error;
  }
}

async function forward({ raft, config }: AppParts, request: FastifyRequest, reply: FastifyReply) {
  const leader = raft.leader();
  if (leader === null || leader.id === config.node_id) {
    return reply.header('retry-after', '1').code(503).send(errorBody('CONCORD_ERR_NO_LEADER', 'no leader is known; retry shortly'));
  }
  const url = `http://${leader.host}:${leader.port}${request.url}`;
  if ((request.query as Record<string, string>).redirect === 'true') return reply.redirect(url, 307);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = request.headers['idempotency-key'];
  if (typeof key === 'string') headers['idempotency-key'] = key;
  try {
    const res = await httpRequest(url, { method: request.method as 'POST', headers, body: JSON.stringify(request.body ?? {}),
      headersTimeout: config.request_timeout_ms, bodyTimeout: config.request_timeout_ms });
    return reply.code(res.statusCode).header('content-type', 'application/json').send(await res.body.text());
  } catch (error) {
    return sendError(reply, 'CONCORD_ERR_OUTCOME_UNKNOWN', `forwarding to the leader failed: ${(error as Error).message}`);
  }
}

function registerWrites(app: FastifyInstance, parts: AppParts): void {
  app.post('/api/v1/nodes/register', { schema: { body: jsonSchema(schemas.registerNode) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.registerNode>;
    return write(parts, request, reply, () => ({ type: 'node.register', id: randomUUID(), addresses: body.addresses,
      storage_capacity: body.storage_capacity, capabilities: body.capabilities ?? {}, ...(body.zone ? { zone: body.zone } : {}) }), 201);
  });
  app.post<{ Params: { id: string } }>('/api/v1/nodes/:id/heartbeat', { schema: { body: jsonSchema(schemas.heartbeat) } }, (request, reply) =>
    write(parts, request, reply, () => ({ type: 'node.heartbeat_batch', beats: [{ id: request.params.id, used_bytes: (request.body as { used_bytes: number }).used_bytes }] })));
  app.post<{ Params: { id: string } }>('/api/v1/nodes/:id/unregister', (request, reply) =>
    write(parts, request, reply, () => ({ type: 'node.unregister', id: request.params.id })));
  app.post('/api/v1/tasks', { schema: { body: jsonSchema(schemas.submitTask) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.submitTask>;
    return write(parts, request, reply, () => ({ type: 'task.submit', id: randomUUID(), kind: body.kind, payload: body.payload ?? null,
      priority: body.priority ?? 0, required_capabilities: body.required_capabilities ?? [], ...(body.max_attempts ? { max_attempts: body.max_attempts } : {}) }), 201);
  });
  app.post('/api/v1/tasks/claim', { schema: { body: jsonSchema(schemas.claim) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.claim>;
    return write(parts, request, reply, () => ({ type: 'task.claim', worker_id: body.worker_id, capabilities: body.capabilities ?? [], lease_ms: body.lease_ms }));
  });
  app.post('/api/maintenance/enable', { schema: { body: jsonSchema(schemas.maintenance) } }, (request, reply) =>
    write(parts, request, reply, () => ({ type: 'maintenance.enable', ...((request.body as { reason?: string } | undefined)?.reason ? { reason: (request.body as { reason: string }).reason } : {}) })));
  app.post('/api/maintenance/disable', (request, reply) => write(parts, request, reply, () => ({ type: 'maintenance.disable' })));
}

async function readable(parts: AppParts, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const consistency = (request.query as Record<string, string>).consistency ?? 'linearizable';
  if (consistency === 'stale') return true;
  try {
    await parts.raft.readBarrier({ timeoutMs: parts.config.request_timeout_ms });
    return true;
  } catch (error) {
    const code = error instanceof RaftError ? error.code : 'CONCORD_ERR_INTERNAL';
    await sendError(reply, code, (error as Error).message);
    return false;
  }
}

function registerReads(app: FastifyInstance, parts: AppParts): void {
  const { state } = parts;
  app.get<{ Params: { id: string } }>('/api/v1/nodes/:id', async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const node = state.model.nodes.get(request.params.id);
    return node === undefined ? sendError(reply, 'CONCORD_ERR_NOT_FOUND', `node ${request.params.id} is not registered`) : node;
  });
  app.get('/api/v1/nodes', async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const status = (request.query as Record<string, string>).status;
    return { nodes: [...state.model.nodes.values()].filter((n) => status === undefined || n.status === status), applied_index: state.appliedIndex() };
  });
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id', async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const task = state.model.tasks.get(request.params.id);
    return task === undefined ? sendError(reply, 'CONCORD_ERR_NOT_FOUND', `task ${request.params.id} does not exist`) : task;
  });
}
