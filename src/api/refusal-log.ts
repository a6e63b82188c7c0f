// One log line per request the API turns away for its form or its caller (bad input,
// too large, rate limited, no or a wrong token, a role that may not): at most one line
// per class (error code) every `intervalMs`, the next line of that class counting the
// refusals left out since (`suppressed`), so a client hammering the API cannot flood
// the log. Never the token: a caller is named by its source address and token id.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** The error codes that mark a refused request (not a command's own outcome such as an unknown node). */
export const REFUSAL_CODES: ReadonlySet<string> = new Set(['CONCORD_ERR_VALIDATION', 'CONCORD_ERR_PAYLOAD_TOO_LARGE',
  'CONCORD_ERR_RATE_LIMITED', 'CONCORD_ERR_UNAUTHENTICATED', 'CONCORD_ERR_FORBIDDEN']);

const refusals = new WeakMap<FastifyReply, { readonly code: string; readonly message: string }>();

/** Note the error a reply is sent with (see `sendError`), for the log once it has gone out. */
export function markRefusal(reply: FastifyReply, code: string, message: string): void {
  if (REFUSAL_CODES.has(code)) refusals.set(reply, { code, message });
}

export class RefusalLog {
  readonly #classes = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly logger: Logger | undefined, private readonly intervalMs = 10_000, private readonly now: () => number = Date.now) {}

  /** An `onResponse` hook (callback style: no promise per request): log the reply's refusal, if it was one and its class has not logged within the interval. */
  readonly onResponse = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    this.#note(request, reply);
    done();
  };

  #note(request: FastifyRequest, reply: FastifyReply): void {
    const refusal = refusals.get(reply);
    if (refusal === undefined || this.logger === undefined) return;
    const at = this.now();
    const seen = this.#classes.get(refusal.code);
    if (seen !== undefined && at - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.#classes.set(refusal.code, { at, suppressed: 0 });
    this.logger.warn({ code: refusal.code, status: reply.statusCode, source: request.ip, method: request.method,
      route: request.routeOptions.url ?? null, token_id: request.concordPrincipal?.tokenId ?? null, reason: refusal.message,
      suppressed: seen?.suppressed ?? 0 }, 'refused API request');
  }
}
