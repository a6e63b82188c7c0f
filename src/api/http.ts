// Shared pieces of the HTTP layer: the parts routes use, JSON Schema from zod, coded answers.
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RaftNodeHandle } from '../../raft/node-api.js';
import type { ConcordConfig, TlsMaterial } from '../config/index.js';
import type { CoordinatorState } from '../state/coordinator-state.js';
import type { CommandResult, NodeStats } from '../state/index.js';
import { errorBody, statusOf } from './errors.js';
import { markRefusal } from './refusal-log.js';

export interface AppParts {
  readonly config: Readonly<ConcordConfig>;
  readonly raft: RaftNodeHandle;
  readonly state: CoordinatorState;
  /** Leader-side heartbeat batching; without it each heartbeat is its own entry. */
  readonly heartbeats?: { add(id: string, usedBytes: number, stats?: NodeStats): Promise<CommandResult> };
  /** Where refused requests are logged (never with the token). */
  readonly logger?: Logger;
  /** Certificate, key and CA read from `tls`: the API serves https and forwards over https. */
  readonly tls?: TlsMaterial;
  /** Signs follower→leader forwards so the leader's rate limiter does not count them twice. */
  readonly clusterSecret?: string;
}

export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/** A coded error answer; a 503 the client should simply retry (no leader, busy, moving) says when. */
export function sendError(reply: FastifyReply, code: string, message: string) {
  const status = statusOf(code);
  markRefusal(reply, code, message);
  if (status === 503 && code !== 'CONCORD_ERR_MAINTENANCE' && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  return reply.code(status).send(errorBody(code, message));
}

export function sendResult(reply: FastifyReply, result: CommandResult, okStatus = 200) {
  if (result.ok) return reply.code(okStatus).send(result.value);
  return sendError(reply, result.error.code, result.error.message);
}
