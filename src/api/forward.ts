// Follower → leader forwarding of writes. The caller's Authorization and
// Idempotency-Key travel with the request, so the leader authenticates the original
// caller. With TLS the leader is reached over https, verified with the CA (and the
// node's certificate presented for mutual TLS). A signature with the cluster secret
// marks the request as forwarded, so the leader's rate limiter does not count it twice.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Agent, request as httpRequest } from 'undici';
import { urlAuthority } from '../../raft/host-port.js';
import { RaftError } from '../../raft/node-api.js';
import { sign, verify } from '../../raft/transport/index.js';
import type { TlsMaterial } from '../config/index.js';
import { type AppParts, sendError } from './http.js';

export const FORWARDED_HEADER = 'x-concord-forwarded';

export interface ForwarderOptions {
  readonly clusterSecret?: string;
  readonly tls?: TlsMaterial;
  readonly timeoutMs: number;
}

export class Forwarder {
  readonly scheme: 'http' | 'https';
  readonly #options: ForwarderOptions;
  readonly #agent: Agent;

  constructor(options: ForwarderOptions) {
    this.#options = options;
    this.scheme = options.tls === undefined ? 'http' : 'https';
    const tls = options.tls;
    this.#agent = new Agent({ connections: 64, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, connectTimeout: options.timeoutMs,
      ...(tls === undefined ? {} : { connect: { cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca }) } }) });
  }

  #proof(method: string, url: string, authorization: string | undefined): string | undefined {
    const secret = this.#options.clusterSecret;
    return secret === undefined ? undefined : sign(secret, method, url, Buffer.from(authorization ?? '', 'utf8'), Date.now());
  }

  /** True when the request was forwarded by a member of this cluster. */
  isForwarded(request: FastifyRequest): boolean {
    const secret = this.#options.clusterSecret;
    const header = request.headers[FORWARDED_HEADER];
    if (secret === undefined || header === undefined) return false;
    return verify(secret, request.method, request.url, Buffer.from(request.headers.authorization ?? '', 'utf8'), header, Date.now());
  }

  async forward(leader: { host: string; port: number }, request: FastifyRequest, reply: FastifyReply, timeoutMs?: number) {
    const url = `${this.scheme}://${urlAuthority(leader.host, leader.port)}${request.url}`;
    if ((request.query as Record<string, string>).redirect === 'true') return reply.redirect(url, 307);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const name of ['idempotency-key', 'authorization'] as const) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const proof = this.#proof(request.method, request.url, request.headers.authorization);
    if (proof !== undefined) headers[FORWARDED_HEADER] = proof;
    try {
      const res = await httpRequest(url, { method: request.method as 'POST', headers, body: JSON.stringify(request.body ?? {}), dispatcher: this.#agent,
        ...(timeoutMs === undefined ? {} : { headersTimeout: timeoutMs, bodyTimeout: timeoutMs }) });
      for (const name of ['retry-after', 'www-authenticate']) {
        const value = res.headers[name];
        if (typeof value === 'string') reply.header(name, value);
      }
      return reply.code(res.statusCode).header('content-type', 'application/json').send(await res.body.text());
    } catch (error) {
      return sendError(reply, 'CONCORD_ERR_OUTCOME_UNKNOWN', `forwarding to the leader failed: ${(error as Error).message}`);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** Forward to the leader; `timeoutMs` for requests the leader may take longer than request_timeout_ms on. */
function forwardToLeader({ raft, config }: Pick<AppParts, 'raft' | 'config'>, forwarder: Forwarder, request: FastifyRequest, reply: FastifyReply, timeoutMs?: number) {
  const leader = raft.leader();
  if (leader === null || leader.id === config.node_id) return sendError(reply, 'CONCORD_ERR_NO_LEADER', 'no leader is known; retry shortly');
  return forwarder.forward(leader, request, reply, timeoutMs);
}

/**
 * Run `action` on the leader and answer with what it returns. A follower forwards the
 * request to the leader instead, and so does a leader that lost leadership while the
 * action ran (NOT_LEADER); any other Raft error becomes its coded answer.
 * `forwardTimeoutMs` is for requests the leader may take longer than request_timeout_ms on.
 */
export async function runOnLeader<T>(parts: Pick<AppParts, 'raft' | 'config'>, forwarder: Forwarder, request: FastifyRequest, reply: FastifyReply,
  action: () => Promise<T>, forwardTimeoutMs?: number): Promise<T | FastifyReply> {
  if (!parts.raft.isLeader()) return forwardToLeader(parts, forwarder, request, reply, forwardTimeoutMs);
  try {
    return await action();
  } catch (error) {
    if (error instanceof RaftError) {
      if (error.code === 'CONCORD_ERR_NOT_LEADER') return forwardToLeader(parts, forwarder, request, reply, forwardTimeoutMs);
      return sendError(reply, error.code, error.message);
    }
    throw error;
  }
}

/** Mark forwarded requests (before the rate limiter runs) and close the agent with the app. */
export function installForwarding(app: FastifyInstance, forwarder: Forwarder): void {
  app.decorateRequest('concordForwarded', false);
  app.addHook('onRequest', (request, _reply, done) => {
    request.concordForwarded = forwarder.isForwarded(request);
    done();
  });
  app.addHook('onClose', () => forwarder.close());
}
