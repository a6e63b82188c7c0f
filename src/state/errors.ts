// Result codes of applied commands. Every replica computes the same result, so a
// refused command is a deterministic answer, never an exception.
export const DOMAIN_ERRORS = {
  CONCORD_ERR_NOT_FOUND: 'the node, file, chunk or task does not exist',
  CONCORD_ERR_CONFLICT: 'the object exists already or is not in a state that allows this',
  CONCORD_ERR_INVALID_COMMAND: 'the log entry is not a valid command (bug or version skew)',
  CONCORD_ERR_MAINTENANCE: 'the cluster is in maintenance mode: new submissions are refused',
  CONCORD_ERR_NO_CAPACITY: 'no active node has room for a replica',
  CONCORD_ERR_NOT_LEASE_HOLDER: 'the worker does not hold this task',
  CONCORD_ERR_NO_TASK: 'no queued task matches the worker',
} as const;

export type DomainErrorCode = keyof typeof DOMAIN_ERRORS;

export type CommandResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: { readonly code: DomainErrorCode; readonly message: string } };

export const ok = (value: unknown): CommandResult => ({ ok: true, value });
export const fail = (code: DomainErrorCode, message: string): CommandResult => ({ ok: false, error: { code, message } });
