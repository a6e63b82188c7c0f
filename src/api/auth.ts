// Bearer-token authentication and the one role table of the HTTP API (DESIGN §4).
// A request is identified on `onRequest` (so the rate limiter can key by token) and
// checked on `preParsing` (after the rate limiter, before any body is read).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ConcordConfig } from '../config/index.js';
import { sendError } from './http.js';

export type Role = 'admin' | 'node' | 'client' | 'read';

/** Routes anyone may call: Kubernetes probes and the Prometheus scrape. */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['/live', '/ready', '/health', '/metrics']);

/** Route prefixes only `admin` may call, whatever the method. */
const ADMIN_PREFIXES: readonly string[] = ['/api/cluster/', '/api/maintenance/', '/api/backup', '/api/debug/'];

const NODE: readonly Role[] = ['admin', 'node'];
const CLIENT: readonly Role[] = ['admin', 'client'];

/**
 * Writes by route (`METHOD route-pattern`) and the roles allowed to make them.
 * Every GET outside ADMIN_PREFIXES is open to all four roles; any other write not
 * listed here is admin-only, so a new route is closed until it is added.
 */
export const WRITE_ROLES: Readonly<Record<string, readonly Role[]>> = {
  'POST /api/v1/nodes/register': NODE,
  'POST /api/v1/nodes/:id/heartbeat': NODE,
  'POST /api/v1/nodes/:id/unregister': NODE,
  'POST /api/v1/chunks/locations': NODE,
  'POST /api/v1/tasks/claim': NODE,
  'POST /api/v1/tasks/:id/renew': NODE,
  'POST /api/v1/tasks/:id/complete': NODE,
  'POST /api/v1/tasks/:id/fail': NODE,
  'POST /api/v1/files/register': CLIENT,
  'DELETE /api/v1/files/:id': CLIENT,
  'POST /api/v1/tasks': CLIENT,
  'POST /api/v1/tasks/:id/cancel': CLIENT,
};

const ALL: readonly Role[] = ['admin', 'node', 'client', 'read'];
const ADMIN: readonly Role[] = ['admin'];

/** What a route needs: 'open' (no token), 'peer' (cluster secret, not tokens), or the roles allowed. */
export function accessFor(method: string, route: string | undefined): 'open' | 'peer' | readonly Role[] {
  if (route === undefined) return ALL; // no such route: authenticate, then 404
  if (route.startsWith('/raft/')) return 'peer';
  if (OPEN_ROUTES.has(route)) return 'open';
  if (ADMIN_PREFIXES.some((p) => route.startsWith(p))) return ADMIN;
  if (method === 'GET' || method === 'HEAD') return ALL;
  return WRITE_ROLES[`${method} ${route}`] ?? ADMIN;
}

/** The caller as identified from its Authorization header. */
export interface Principal {
  readonly role: Role;
  /** A short, non-reversible id of the token (for rate-limit keys and logs), never the token. */
  readonly tokenId: string;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/i;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Configured tokens, kept only as SHA-256 digests and compared in constant time. */
export class TokenTable {
  readonly #entries: { digest: Buffer; role: Role; id: string }[];

  constructor(tokens: readonly { token: string; role: Role }[]) {
    this.#entries = tokens.map((t) => {
      const d = digest(t.token);
      return { digest: d, role: t.role, id: d.subarray(0, 6).toString('hex') };
    });
  }

  /** The principal of an Authorization header value, or null (missing, malformed or unknown). */
  identify(header: unknown): Principal | null {
    if (typeof header !== 'string') return null;
    const match = BEARER.exec(header);
    if (match === null) return null;
    const presented = digest(match[1]);
    let found: Principal | null = null;
    // Compare against every entry (no early exit) so timing says nothing about which matched.
    for (const entry of this.#entries) {
      if (timingSafeEqual(presented, entry.digest) && found === null) found = { role: entry.role, tokenId: entry.id };
    }
    return found;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook when auth is enabled and the token is known. */
    concordPrincipal: Principal | null;
  }
}

/** Identify every request; when auth is enabled, refuse what its token may not do (401/403). */
export function installAuth(app: FastifyInstance, auth: ConcordConfig['auth']): void {
  const table = new TokenTable(auth.tokens);
  app.decorateRequest('concordPrincipal', null);
  if (!auth.enabled) return;
  app.addHook('onRequest', (request, _reply, done) => {
    request.concordPrincipal = table.identify(request.headers.authorization);
    done();
  });
  app.addHook('preParsing', async (request, reply) => {
    const access = accessFor(request.method, request.routeOptions.url);
    if (access === 'open' || access === 'peer') return;
    const principal = request.concordPrincipal;
    if (principal === null) {
      return sendError(reply.header('www-authenticate', 'Bearer realm="concord"'), 'CONCORD_ERR_UNAUTHENTICATED',
        'a valid "Authorization: Bearer <token>" header is required');
    }
    if (!access.includes(principal.role)) {
      return sendError(reply, 'CONCORD_ERR_FORBIDDEN', `role ${principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}; allowed: ${access.join(', ')}`);
    }
  });
}

