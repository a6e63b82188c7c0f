// Reads: linearizable through ReadIndex unless ?consistency=stale.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RaftError } from '../../raft/node-api.js';
import { z } from 'zod';
import { listNodes, listTasks, networkStats, nodeCounts } from '../state/queries.js';
import { type AppParts, jsonSchema, sendError } from './http.js';

const CONSISTENCY = ['linearizable', 'lease', 'stale'] as const;
const consistency = z.enum(CONSISTENCY).optional();
// Query strings, validated like bodies (zod → JSON Schema → ajv): a bad value is a 400 naming it.
const readQuery = { schema: { querystring: jsonSchema(z.object({ consistency })) } };
const nodeListQuery = { schema: { querystring: jsonSchema(z.object({ consistency, status: z.enum(['active', 'inactive', 'dead', 'unregistered']).optional() })) } };
const taskListQuery = { schema: { querystring: jsonSchema(z.object({ consistency, status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional() })) } };

/**
 * Wait until this node may answer a read at the asked consistency. `linearizable`
 * (default) takes a ReadIndex barrier; `lease` is answered by a leader holding its read
 * lease at its commit index without a round (and takes the barrier anywhere else);
 * `stale` reads local state at once. Every answer says what it is: `x-concord-consistency`,
 * `x-concord-applied-index`, and for stale reads `x-concord-staleness-entries`
 * (entries this node knows are committed but has not applied) and
 * `x-concord-staleness-ms` (time since it last heard from its leader; absent when it
 * knows none).
 */
export async function readable(parts: AppParts, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  // Every read route validates `consistency` with its querystring schema (readQuery and kin).
  const consistency = (request.query as { consistency?: (typeof CONSISTENCY)[number] }).consistency ?? 'linearizable';
  reply.header('x-concord-consistency', consistency);
  if (consistency === 'stale') {
    const applied = parts.state.appliedIndex();
    const position = parts.raft.readPosition();
    reply.header('x-concord-applied-index', String(applied));
    reply.header('x-concord-staleness-entries', String(Math.max(0, position.commit - applied)));
    if (position.leaderContactAgeMs !== null) reply.header('x-concord-staleness-ms', String(position.leaderContactAgeMs));
    return true;
  }
  try {
    await parts.raft.readBarrier({ timeoutMs: parts.config.request_timeout_ms, lease: consistency === 'lease' });
    reply.header('x-concord-applied-index', String(parts.state.appliedIndex()));
    return true;
  } catch (error) {
    const code = error instanceof RaftError ? error.code : 'CONCORD_ERR_INTERNAL';
    await sendError(reply, code, (error as Error).message);
    return false;
  }
}

export function registerReads(app: FastifyInstance, parts: AppParts): void {
  const { state } = parts;
  app.get<{ Params: { id: string } }>('/api/v1/files/:id', readQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const file = state.model.files.get(request.params.id);
    if (file === undefined) return sendError(reply, 'CONCORD_ERR_NOT_FOUND', `file ${request.params.id} does not exist`);
    return { ...file, chunks: file.chunks.map((c) => ({ ...c, replicas: state.model.replicasOf(c.hash).map((r) => ({ node_id: r.node_id, state: r.state })) })) };
  });
  app.get<{ Params: { hash: string } }>('/api/v1/chunks/:hash/locations', readQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const replicas = state.model.replicasOf(request.params.hash);
    if (replicas.length === 0 && !state.model.replicas.hasChunk(request.params.hash)) {
      return sendError(reply, 'CONCORD_ERR_NOT_FOUND', `chunk ${request.params.hash} is unknown`);
    }
    return { hash: request.params.hash, replicas: replicas.map((r) => ({ node_id: r.node_id, state: r.state,
      addresses: state.model.nodes.get(r.node_id)?.addresses ?? [], node_status: state.model.nodes.get(r.node_id)?.status ?? null })) };
  });
  const taskList = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const status = (request.query as Record<string, string>).status;
    const { rows, applied } = await listTasks(state, status);
    return { tasks: rows, applied_index: applied };
  };
  app.get('/api/tasks', taskListQuery, taskList);
  app.get('/api/v1/tasks', taskListQuery, taskList);
  app.get('/api/v1/nodes/active', readQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const { rows, applied } = await listNodes(state, 'active');
    return { nodes: rows, applied_index: applied };
  });
  // Nodes by status (SQL), the leader and the cluster's health as this node sees it.
  app.get('/api/v1/network/status', readQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const counts = await nodeCounts(state);
    const s = parts.raft.status();
    const leader = s.leaderEndpoint === null ? null : { id: s.leaderEndpoint.id, address: `${s.leaderEndpoint.host}:${s.leaderEndpoint.port}` };
    const health = s.leader === null ? 'unavailable' : s.storage.healthy ? 'healthy' : 'degraded';
    return { nodes: counts.nodes, leader, health, voters: s.confState.voters, learners: s.confState.learners,
      maintenance: state.model.maintenance(), applied_index: counts.applied_index };
  });
  app.get('/api/v1/network/stats', readQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    return networkStats(state);
  });
  app.get<{ Params: { id: string } }>('/api/v1/nodes/:id', readQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const node = state.model.nodes.get(request.params.id);
    return node === undefined ? sendError(reply, 'CONCORD_ERR_NOT_FOUND', `node ${request.params.id} is not registered`) : node;
  });
  app.get('/api/v1/nodes', nodeListQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const status = (request.query as Record<string, string>).status;
    const { rows, applied } = await listNodes(state, status);
    return { nodes: rows, applied_index: applied };
  });
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id', readQuery, async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const task = state.model.tasks.get(request.params.id);
    return task === undefined ? sendError(reply, 'CONCORD_ERR_NOT_FOUND', `task ${request.params.id} does not exist`) : task;
  });
}
