// Per-client rate limiting with @fastify/rate-limit: keyed by the caller's known token
// (its id, never the token), else by IP. Probes and /metrics are exempt, and so are
// writes a follower forwarded (already counted on the follower, see forward.ts).
// /raft/* and /metrics never reach the limiter: startServer (src/server/start.ts) mounts
// them on the root app, outside the plugin the limiter is registered in.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConcordConfig } from '../config/index.js';
import { accessFor } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request carries a valid follower→leader forwarding signature. */
    concordForwarded: boolean;
  }
}

class RateLimitedError extends Error {
  readonly statusCode = 429;
  readonly code = 'CONCORD_ERR_RATE_LIMITED';
}

function rateLimitKey(request: FastifyRequest): string {
  const principal = request.concordPrincipal;
  return principal === null ? `ip:${request.ip}` : `token:${principal.tokenId}`;
}

/** Register the limiter on `scope`; the routes declared on `scope` afterwards are limited. */
export async function installRateLimit(scope: FastifyInstance, limits: ConcordConfig['rate_limit']): Promise<void> {
  if (!limits.enabled) return;
  await scope.register(rateLimit, {
    global: true,
    max: limits.max,
    timeWindow: limits.window_ms,
    keyGenerator: rateLimitKey,
    allowList: (request) => request.concordForwarded || accessFor(request.method, request.routeOptions.url) === 'open',
    errorResponseBuilder: (_request, context) => new RateLimitedError(`rate limit of ${context.max} requests per ${limits.window_ms} ms exceeded; retry in ${context.after}`),
  });
}
