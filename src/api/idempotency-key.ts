// The Idempotency-Key header every write accepts: checked on the node a request
// reaches, before any forwarding; the leader puts it in the command it proposes.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './http.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const IDEMPOTENCY_KEY_MAX = 256;

/**
 * A `preValidation` hook for every route: a request other than GET or HEAD whose
 * Idempotency-Key header is empty or longer than IDEMPOTENCY_KEY_MAX characters (node
 * joins a repeated header into one value) gets a 400 on the node it reached (before any
 * forwarding), instead of a key cut short that could match another request's.
 */
export function checkIdempotencyKey(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  // Callback style, as it runs for every request: no promise per request. A refusal answers and does not call `done`.
  const key = request.method === 'GET' || request.method === 'HEAD' ? undefined : request.headers[IDEMPOTENCY_HEADER];
  if (key === undefined || (typeof key === 'string' && key.length > 0 && key.length <= IDEMPOTENCY_KEY_MAX)) {
    done();
    return;
  }
  void sendError(reply, 'CONCORD_ERR_VALIDATION', `headers.${IDEMPOTENCY_HEADER} must be 1 to ${IDEMPOTENCY_KEY_MAX} characters`);
}
