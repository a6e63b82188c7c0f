// The coordinator's deterministic state machine: in-memory model, DuckDB store.
export { Model, DEFAULT_LIMITS, type DomainLimits, type NodeRow, type FileRow, type ReplicaRow, type TaskRow, type NodeStatus, type TaskStatus } from './model.js';
export { applyEnvelope, applyEntryData } from './apply.js';
export { encodeCommand, decodeCommand, commandSchema, envelopeSchema, type Command, type CommandEnvelope, type CommandInput, type NodeStats } from './commands.js';
export { DOMAIN_ERRORS, type CommandResult, type DomainErrorCode } from './errors.js';
export { placeReplicas } from './placement.js';
export { CoordinatorState, type CoordinatorStateOptions } from './coordinator-state.js';
