// Membership changes (DESIGN §4): POST /api/cluster/members adds a node as a learner,
// waits for it to catch up and promotes it to voter; DELETE removes one. Both run on
// the leader (a follower forwards them) and go through the log, one at a time. So
// does POST /api/cluster/transfer-leadership.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { peerSchema } from '../config/schema.js';
import { type Forwarder, runOnLeader } from './forward.js';
import { type AppParts, jsonSchema, sendError } from './http.js';

// The leader may spend up to 4 × request_timeout_ms on a change (a learner catching up);
// a follower forwarding it waits as long, plus a second for the answer to travel.
const changeTimeoutMs = (parts: AppParts) => parts.config.request_timeout_ms * 4;

/** A membership change on the leader (forwarded from a follower); answers with the new configuration. */
function onLeader(parts: AppParts, forwarder: Forwarder, request: FastifyRequest, reply: FastifyReply, change: () => Promise<void>) {
  return runOnLeader(parts, forwarder, request, reply, async () => {
    await change();
    const conf = parts.raft.status().confState;
    return reply.send({ voters: conf.voters, learners: conf.learners });
  }, changeTimeoutMs(parts) + 1000);
}

const transferBody = z.object({ target: z.string().min(1).max(128).optional() }).strict();

export function registerMembers(app: FastifyInstance, parts: AppParts, forwarder: Forwarder): void {
  // Leadership transfer runs on the leader; a follower forwards it like any write.
  // (The body is optional, so zod checks it here rather than a fastify body schema.)
  app.post('/api/cluster/transfer-leadership', async (request, reply) => {
    const body = transferBody.safeParse(request.body ?? {});
    if (!body.success) return sendError(reply, 'CONCORD_ERR_VALIDATION', `body.target ${body.error.issues[0]?.message ?? 'is not valid'}`);
    return runOnLeader(parts, forwarder, request, reply, async () => ({ leader: await parts.raft.transferLeadership(body.data.target) }));
  });
  const timeoutMs = changeTimeoutMs(parts);
  app.post<{ Body: { id: string; host: string; port: number } }>('/api/cluster/members', { schema: { body: jsonSchema(peerSchema) } },
    async (request, reply) => onLeader(parts, forwarder, request, reply, async () => {
      parts.logger?.info({ member: request.body.id, address: `${request.body.host}:${request.body.port}` }, 'adding member');
      await parts.raft.addMember(request.body, { timeoutMs });
    }));
  app.delete<{ Params: { id: string } }>('/api/cluster/members/:id', async (request, reply) => {
    const conf = parts.raft.status().confState;
    if (parts.raft.isLeader() && !conf.voters.includes(request.params.id) && !conf.learners.includes(request.params.id)) {
      return sendError(reply, 'CONCORD_ERR_NOT_FOUND', `${request.params.id} is not a member`);
    }
    return onLeader(parts, forwarder, request, reply, async () => {
      parts.logger?.info({ member: request.params.id }, 'removing member');
      await parts.raft.removeMember(request.params.id, { timeoutMs });
    });
  });
}
