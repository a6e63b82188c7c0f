// Reads: linearizable through ReadIndex unless ?consistency=stale.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RaftError } from '../../raft/node-api.js';
import { chunkFactorOf } from '../state/apply-files.js';
import type { CoordinatorState } from '../state/coordinator-state.js';
import { type AppParts, sendError } from './http.js';

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

export function registerReads(app: FastifyInstance, parts: AppParts): void {
  const { state } = parts;
  app.get<{ Params: { id: string } }>('/api/v1/files/:id', async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const file = state.model.files.get(request.params.id);
    if (file === undefined) return sendError(reply, 'CONCORD_ERR_NOT_FOUND', `file ${request.params.id} does not exist`);
    return { ...file, chunks: file.chunks.map((c) => ({ ...c, replicas: state.model.replicasOf(c.hash).map((r) => ({ node_id: r.node_id, state: r.state })) })) };
  });
  app.get<{ Params: { hash: string } }>('/api/v1/chunks/:hash/locations', async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const replicas = state.model.replicasOf(request.params.hash);
    if (replicas.length === 0 && !state.model.chunkFactor.has(request.params.hash)) {
      return sendError(reply, 'CONCORD_ERR_NOT_FOUND', `chunk ${request.params.hash} is unknown`);
    }
    return { hash: request.params.hash, replicas: replicas.map((r) => ({ node_id: r.node_id, state: r.state,
      addresses: state.model.nodes.get(r.node_id)?.addresses ?? [], node_status: state.model.nodes.get(r.node_id)?.status ?? null })) };
  });
  const taskList = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!(await readable(parts, request, reply))) return reply;
    const status = (request.query as Record<string, string>).status;
    return { tasks: [...state.model.tasks.values()].filter((t) => status === undefined || t.status === status), applied_index: state.appliedIndex() };
  };
  app.get('/api/tasks', taskList);
  app.get('/api/v1/tasks', taskList);
  app.get('/api/v1/nodes/active', async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    return { nodes: [...state.model.nodes.values()].filter((n) => n.status === 'active'), applied_index: state.appliedIndex() };
  });
  app.get('/api/v1/network/stats', async (request, reply) => {
    if (!(await readable(parts, request, reply))) return reply;
    return networkStats(state);
  });
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

/** Capacity, usage, counts by status and under-replicated chunks, from the model. */
function networkStats(state: CoordinatorState): Record<string, unknown> {
  const model = state.model;
  const nodesByStatus: Record<string, number> = {};
  let capacity = 0;
  let used = 0;
  for (const node of model.nodes.values()) {
    nodesByStatus[node.status] = (nodesByStatus[node.status] ?? 0) + 1;
    if (node.status === 'active') { capacity += node.capacity; used += node.used; }
  }
  const tasksByStatus: Record<string, number> = {};
  for (const task of model.tasks.values()) tasksByStatus[task.status] = (tasksByStatus[task.status] ?? 0) + 1;
  let underReplicated = 0;
  for (const [hash] of model.chunkFactor) {
    const factor = chunkFactorOf(model, hash);
    const live = model.replicasOf(hash).filter((r) => model.nodes.get(r.node_id)?.status === 'active').length;
    if (live < factor) underReplicated++;
  }
  return { capacity_bytes: capacity, used_bytes: used, nodes: nodesByStatus, files: model.files.size, chunks: model.chunkFactor.size,
    replicas: model.replicas.size, under_replicated_chunks: underReplicated, tasks: tasksByStatus, applied_index: state.appliedIndex() };
}
