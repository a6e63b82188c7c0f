// The coordinator's deterministic state machine (in-memory model; the DuckDB
// store, flusher and snapshots are the next increment of issue 4).
export { Model, DEFAULT_LIMITS, type DomainLimits, type NodeRow, type FileRow, type ReplicaRow, type TaskRow, type NodeStatus, type TaskStatus } from './model.js';
export { applyEnvelope, applyEntryData } from './apply.js';
export { encodeCommand, decodeCommand, commandSchema, envelopeSchema, type Command, type CommandEnvelope, type CommandInput } from './commands.js';
export { DOMAIN_ERRORS, type CommandResult, type DomainErrorCode } from './errors.js';
export { placeReplicas } from './placement.js';
