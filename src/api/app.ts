// The HTTP API (DESIGN §4, first increment): cluster status and probes, nodes,
// files and chunks, the task queue, maintenance, network stats. Writes run on the
// leader (a follower forwards them); reads are linearizable unless ?consistency=stale.
import Fastify, { type FastifyInstance } from 'fastify';
import { type AppParts, sendError } from './http.js';
import { registerProbes } from './routes-probes.js';
import { registerReads } from './routes-reads.js';
import { registerWrites } from './routes-writes.js';

export type { AppParts } from './http.js';

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
