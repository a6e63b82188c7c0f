// The one error registry of the HTTP API: every code, its HTTP status and meaning.
// Errors are answered as { "error": { "code", "message" } }.
import { DOMAIN_ERRORS } from '../state/errors.js';

export const HTTP_ERRORS = {
  CONCORD_ERR_VALIDATION: { status: 400, description: 'the request body, query or path is invalid' },
  CONCORD_ERR_UNAUTHENTICATED: { status: 401, description: 'auth is enabled and the request has no known "Authorization: Bearer <token>"' },
  CONCORD_ERR_FORBIDDEN: { status: 403, description: 'the token\'s role may not call this route (see the role table in src/api/auth.ts)' },
  CONCORD_ERR_RATE_LIMITED: { status: 429, description: 'this client (token, else IP) exceeded rate_limit.max requests per rate_limit.window_ms; see Retry-After' },
  CONCORD_ERR_NOT_FOUND: { status: 404, description: DOMAIN_ERRORS.CONCORD_ERR_NOT_FOUND },
  CONCORD_ERR_CONFLICT: { status: 409, description: DOMAIN_ERRORS.CONCORD_ERR_CONFLICT },
  CONCORD_ERR_NOT_LEASE_HOLDER: { status: 409, description: DOMAIN_ERRORS.CONCORD_ERR_NOT_LEASE_HOLDER },
  CONCORD_ERR_NO_TASK: { status: 404, description: DOMAIN_ERRORS.CONCORD_ERR_NO_TASK },
  CONCORD_ERR_INVALID_COMMAND: { status: 400, description: DOMAIN_ERRORS.CONCORD_ERR_INVALID_COMMAND },
  CONCORD_ERR_MAINTENANCE: { status: 503, description: DOMAIN_ERRORS.CONCORD_ERR_MAINTENANCE },
  CONCORD_ERR_NO_CAPACITY: { status: 507, description: DOMAIN_ERRORS.CONCORD_ERR_NO_CAPACITY },
  CONCORD_ERR_PAYLOAD_TOO_LARGE: { status: 413, description: 'the request body exceeds body_limit_bytes' },
  CONCORD_ERR_NOT_LEADER: { status: 421, description: 'this node is not the leader; the error names the leader' },
  CONCORD_ERR_NO_LEADER: { status: 503, description: 'no leader is known right now; retry shortly' },
  CONCORD_ERR_TRANSFERRING: { status: 503, description: 'leadership is moving; retry shortly' },
  CONCORD_ERR_BUSY: { status: 503, description: 'too many uncommitted entries; back off' },
  CONCORD_ERR_OUTCOME_UNKNOWN: { status: 504, description: 'the write may or may not have applied; retry with the same Idempotency-Key' },
  CONCORD_ERR_PROPOSAL_DROPPED: { status: 503, description: 'another leader took the entry\'s place; the write did not apply' },
  CONCORD_ERR_CONF_CHANGE_PENDING: { status: 409, description: 'a membership change is already in progress' },
  CONCORD_ERR_INVALID_CONF_CHANGE: { status: 400, description: 'the membership change is not allowed' },
  CONCORD_ERR_STORAGE_IO: { status: 507, description: 'the node cannot write to its disk; it accepts no writes until it recovers' },
  CONCORD_ERR_STOPPED: { status: 503, description: 'the node is stopping' },
  CONCORD_ERR_BACKUP_IN_PROGRESS: { status: 409, description: 'this node is already streaming a backup; retry when it is done' },
  CONCORD_ERR_BACKUP_FAILED: { status: 500, description: 'taking, downloading or writing a backup failed; nothing was kept' },
  CONCORD_ERR_BACKUP_CORRUPT: { status: 422, description: 'the backup file is not a Concord backup, is truncated, or its SHA-256 or content does not match its header' },
  CONCORD_ERR_RESTORE_REFUSED: { status: 409, description: 'restore refused: the node\'s data_dir or db_path already holds data (use --force to move it aside)' },
  CONCORD_ERR_INTERNAL: { status: 500, description: 'an unexpected error; see the node log' },
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export function statusOf(code: string): number {
  return (HTTP_ERRORS as Record<string, { status: number }>)[code]?.status ?? 500;
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
