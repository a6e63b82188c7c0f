// Writes: stamped and proposed on the leader, forwarded from followers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { encodeCommand, type CommandInput, type CommandResult } from '../state/index.js';
import { type Forwarder, runOnLeader } from './forward.js';
import { type AppParts, jsonSchema, sendResult } from './http.js';
import { IDEMPOTENCY_HEADER } from './idempotency-key.js';
import { schemas } from './schemas.js';
import { uuidV7 } from './uuid-v7.js';

type Cmd = CommandInput['cmd'];

/** Run a write on the leader: forward from a follower, stamp and propose on the leader. */
function write(parts: AppParts, forwarder: Forwarder, request: FastifyRequest, reply: FastifyReply, build: () => Cmd, okStatus = 200) {
  return runOnLeader(parts, forwarder, request, reply, async () => {
    const key = request.headers[IDEMPOTENCY_HEADER]; // checked by `checkIdempotencyKey` (idempotency-key.ts)
    const envelope: CommandInput = { v: 1, ts: Date.now(), cmd: build(), ...(typeof key === 'string' ? { idempotency_key: key } : {}) };
    const { result } = await parts.raft.propose(encodeCommand(envelope), { timeoutMs: parts.config.request_timeout_ms });
    return sendResult(reply, result as CommandResult, okStatus);
  });
}

export function registerWrites(app: FastifyInstance, parts: AppParts, forwarder: Forwarder): void {
  app.post('/api/v1/nodes/register', { schema: { body: jsonSchema(schemas.registerNode) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.registerNode>;
    return write(parts, forwarder, request, reply, () => ({ type: 'node.register', id: uuidV7(), addresses: body.addresses,
      storage_capacity: body.storage_capacity, capabilities: body.capabilities ?? {}, ...(body.zone ? { zone: body.zone } : {}) }), 201);
  });
  app.post<{ Params: { id: string } }>('/api/v1/nodes/:id/heartbeat', { schema: { body: jsonSchema(schemas.heartbeat) } }, async (request, reply) => {
    const { used_bytes: used, stats } = request.body as z.infer<typeof schemas.heartbeat>;
    const heartbeats = parts.heartbeats;
    if (heartbeats === undefined) {
      return write(parts, forwarder, request, reply, () => ({ type: 'node.heartbeat_batch',
        beats: [{ id: request.params.id, used_bytes: used, ...(stats === undefined ? {} : { stats }) }] }));
    }
    // Batched on the leader; forwarded from a follower, and also when leadership moved
    // before the batch was proposed (NOT_LEADER: it was not proposed, so forwarding is safe).
    return runOnLeader(parts, forwarder, request, reply, async () => sendResult(reply, await heartbeats.add(request.params.id, used, stats)));
  });
  app.post<{ Params: { id: string } }>('/api/v1/nodes/:id/unregister', (request, reply) =>
    write(parts, forwarder, request, reply, () => ({ type: 'node.unregister', id: request.params.id })));
  app.post('/api/v1/tasks', { schema: { body: jsonSchema(schemas.submitTask) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.submitTask>;
    return write(parts, forwarder, request, reply, () => ({ type: 'task.submit', id: uuidV7(), kind: body.kind, payload: body.payload ?? null,
      priority: body.priority ?? 0, required_capabilities: body.required_capabilities ?? [], ...(body.max_attempts ? { max_attempts: body.max_attempts } : {}) }), 201);
  });
  app.post('/api/v1/tasks/claim', { schema: { body: jsonSchema(schemas.claim) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.claim>;
    return write(parts, forwarder, request, reply, () => ({ type: 'task.claim', worker_id: body.worker_id, capabilities: body.capabilities ?? [], lease_ms: body.lease_ms }));
  });
  registerTaskLifecycle(app, parts, forwarder);
  registerFileWrites(app, parts, forwarder);
  app.post('/api/maintenance/enable', { schema: { body: jsonSchema(schemas.maintenance) } }, (request, reply) =>
    write(parts, forwarder, request, reply, () => ({ type: 'maintenance.enable', ...((request.body as { reason?: string } | undefined)?.reason ? { reason: (request.body as { reason: string }).reason } : {}) })));
  app.post('/api/maintenance/disable', (request, reply) => write(parts, forwarder, request, reply, () => ({ type: 'maintenance.disable' })));
}

function registerTaskLifecycle(app: FastifyInstance, parts: AppParts, forwarder: Forwarder): void {
  type P = { Params: { id: string } };
  app.post<P>('/api/v1/tasks/:id/renew', { schema: { body: jsonSchema(schemas.renew) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.renew>;
    return write(parts, forwarder, request, reply, () => ({ type: 'task.renew', id: request.params.id, worker_id: body.worker_id, lease_ms: body.lease_ms }));
  });
  app.post<P>('/api/v1/tasks/:id/complete', { schema: { body: jsonSchema(schemas.complete) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.complete>;
    return write(parts, forwarder, request, reply, () => ({ type: 'task.complete', id: request.params.id, worker_id: body.worker_id, result: body.result ?? null }));
  });
  app.post<P>('/api/v1/tasks/:id/fail', { schema: { body: jsonSchema(schemas.failTask) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.failTask>;
    return write(parts, forwarder, request, reply, () => ({ type: 'task.fail', id: request.params.id, worker_id: body.worker_id, error: body.error, retry: body.retry ?? true }));
  });
  app.post<P>('/api/v1/tasks/:id/cancel', (request, reply) => write(parts, forwarder, request, reply, () => ({ type: 'task.cancel', id: request.params.id })));
}

function registerFileWrites(app: FastifyInstance, parts: AppParts, forwarder: Forwarder): void {
  app.post('/api/v1/files/register', { schema: { body: jsonSchema(schemas.registerFile) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.registerFile>;
    return write(parts, forwarder, request, reply, () => ({ type: 'file.register', file_id: uuidV7(), name: body.name, size: body.size,
      ...(body.chunk_size ? { chunk_size: body.chunk_size } : {}), ...(body.replication_factor ? { replication_factor: body.replication_factor } : {}),
      chunks: body.chunks }), 201);
  });
  app.delete<{ Params: { id: string } }>('/api/v1/files/:id', (request, reply) => write(parts, forwarder, request, reply, () => ({ type: 'file.delete', file_id: request.params.id })));
  app.post('/api/v1/chunks/locations', { schema: { body: jsonSchema(schemas.replicaReport) } }, (request, reply) => {
    const body = request.body as z.infer<typeof schemas.replicaReport>;
    return write(parts, forwarder, request, reply, () => ({ type: 'replica.report', node_id: body.node_id, stored: body.stored, lost: body.lost }));
  });
}
