// The HTTP API (DESIGN §4, first increment): cluster status and probes, nodes,
// files and chunks, the task queue, maintenance, network stats. Writes run on the
// leader (a follower forwards them); reads are linearizable unless ?consistency=stale.
// Requests pass, in order: identify (token, forwarding signature), rate limit, auth check.
import Fastify, { type FastifyInstance } from 'fastify';
import { installAuth } from './auth.js';
import { HTTP_ERRORS } from './errors.js';
import { checkIdempotencyKey } from './idempotency-key.js';
import { Forwarder, installForwarding } from './forward.js';
import { type AppParts, sendError } from './http.js';
import { installRateLimit } from './rate-limit.js';
import { RefusalLog } from './refusal-log.js';
import { registerBackup } from './routes-backup.js';
import { registerMembers } from './routes-members.js';
import { registerProbes } from './routes-probes.js';
import { registerReads } from './routes-reads.js';
import { registerWrites } from './routes-writes.js';
import { type SchemaError, validationMessage } from './validation-message.js';

export type { AppParts } from './http.js';

export function buildApp(parts: AppParts): FastifyInstance {
  const { config, tls } = parts;
  // With a CA, clients may present a certificate (peers must: /raft/* checks it); others still connect.
  const https = tls === undefined ? null : { cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true, rejectUnauthorized: false }) };
  // No type coercion: a number where a string belongs is a 400, not a silent conversion.
  const app = Fastify({ logger: false, bodyLimit: config.body_limit_bytes, ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    ...(https === null ? {} : { https }) }) as unknown as FastifyInstance;
  app.setErrorHandler((error: { statusCode?: number; code?: string; validation?: SchemaError[]; validationContext?: string; message: string }, _request, reply) => {
    if (error.validation !== undefined) return sendError(reply, 'CONCORD_ERR_VALIDATION', validationMessage(error.validation, error.validationContext));
    if (error.statusCode === 400) return sendError(reply, 'CONCORD_ERR_VALIDATION', error.message);
    if (error.statusCode === 413) return sendError(reply, 'CONCORD_ERR_PAYLOAD_TOO_LARGE', error.message);
    if (error.statusCode === 429) return sendError(reply, 'CONCORD_ERR_RATE_LIMITED', error.message);
    // An error that carries one of our codes (a failing store, a stopping node) answers with it.
    if (error.code !== undefined && Object.hasOwn(HTTP_ERRORS, error.code)) return sendError(reply, error.code, error.message);
    return sendError(reply, 'CONCORD_ERR_INTERNAL', error.message);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 'CONCORD_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  const forwarder = new Forwarder({ clusterSecret: parts.clusterSecret, tls, timeoutMs: config.request_timeout_ms });
  installForwarding(app, forwarder);
  installAuth(app, config.auth);
  app.addHook('onResponse', new RefusalLog(parts.logger).onResponse);
  // Routes live in one plugin so the rate limiter, registered first inside it, sees them all.
  app.register(async (api) => {
    await installRateLimit(api, config.rate_limit);
    api.addHook('preValidation', checkIdempotencyKey);
    registerProbes(api, parts);
    registerWrites(api, parts, forwarder);
    registerReads(api, parts);
    registerBackup(api, parts, parts.logger);
    registerMembers(api, parts, forwarder);
  });
  return app;
}
