// The task queue: submit, claim (highest priority, then oldest, matching
// capabilities) with a lease, renew, complete, fail, cancel.
import type { Command } from './commands.js';
import { type CommandResult, fail, ok } from './errors.js';
import type { Model, TaskRow } from './model.js';

type Of<T extends Command['type']> = Extract<Command, { type: T }>;

const OPEN: ReadonlySet<string> = new Set(['queued', 'running']);

export function submitTask(model: Model, cmd: Of<'task.submit'>, ts: number): CommandResult {
  if (model.maintenance().enabled) return fail('CONCORD_ERR_MAINTENANCE', 'maintenance mode: new tasks are refused');
  if (model.tasks.has(cmd.id)) return fail('CONCORD_ERR_CONFLICT', `task ${cmd.id} exists already`);
  const row: TaskRow = {
    id: cmd.id, kind: cmd.kind, payload: cmd.payload ?? null, status: 'queued', priority: cmd.priority,
    required_capabilities: [...cmd.required_capabilities].sort(), worker_id: null, lease_expires_at: null, attempts: 0,
    max_attempts: cmd.max_attempts ?? model.limits.taskMaxAttempts, result: null, error: null, created_at: ts, updated_at: ts,
  };
  model.tasks.replace(cmd.id, undefined, row);
  return ok(row);
}

export function claimTask(model: Model, cmd: Of<'task.claim'>, ts: number): CommandResult {
  const best = model.taskIndex.best(new Set(cmd.capabilities));
  if (best === null) return fail('CONCORD_ERR_NO_TASK', `no queued task matches worker ${cmd.worker_id}`);
  const claimed: TaskRow = { ...best, status: 'running', worker_id: cmd.worker_id, lease_expires_at: ts + cmd.lease_ms, updated_at: ts };
  model.tasks.set(best.id, claimed);
  return ok(claimed);
}

function heldTask(model: Model, id: string, worker: string): TaskRow | CommandResult {
  const task = model.tasks.get(id);
  if (task === undefined) return fail('CONCORD_ERR_NOT_FOUND', `task ${id} does not exist`);
  if (task.status !== 'running' || task.worker_id !== worker) {
    return fail('CONCORD_ERR_NOT_LEASE_HOLDER', `worker ${worker} does not hold task ${id} (status ${task.status})`);
  }
  return task;
}

const isResult = (value: TaskRow | CommandResult): value is CommandResult => 'ok' in value;

export function renewTask(model: Model, cmd: Of<'task.renew'>, ts: number): CommandResult {
  const task = heldTask(model, cmd.id, cmd.worker_id);
  if (isResult(task)) return task;
  const row = { ...task, lease_expires_at: ts + cmd.lease_ms, updated_at: ts };
  model.tasks.set(task.id, row);
  return ok(row);
}

export function completeTask(model: Model, cmd: Of<'task.complete'>, ts: number): CommandResult {
  const task = heldTask(model, cmd.id, cmd.worker_id);
  if (isResult(task)) return task;
  const row: TaskRow = { ...task, status: 'succeeded', result: cmd.result ?? null, lease_expires_at: null, updated_at: ts };
  model.tasks.set(task.id, row);
  closeReplication(model, row);
  return ok(row);
}

export function failTask(model: Model, cmd: Of<'task.fail'>, ts: number): CommandResult {
  const task = heldTask(model, cmd.id, cmd.worker_id);
  if (isResult(task)) return task;
  const attempts = task.attempts + 1;
  const retry = cmd.retry && attempts < task.max_attempts;
  const row: TaskRow = { ...task, status: retry ? 'queued' : 'failed', attempts, error: cmd.error, worker_id: null,
    lease_expires_at: null, updated_at: ts };
  model.tasks.set(task.id, row);
  if (!retry) closeReplication(model, row);
  return ok(row);
}

export function cancelTask(model: Model, cmd: Of<'task.cancel'>, ts: number): CommandResult {
  const task = model.tasks.get(cmd.id);
  if (task === undefined) return fail('CONCORD_ERR_NOT_FOUND', `task ${cmd.id} does not exist`);
  if (!OPEN.has(task.status)) return fail('CONCORD_ERR_CONFLICT', `task ${cmd.id} is already ${task.status}`);
  const row: TaskRow = { ...task, status: 'cancelled', worker_id: null, lease_expires_at: null, updated_at: ts };
  model.tasks.set(task.id, row);
  closeReplication(model, row);
  return ok(row);
}

/** A finished replicate task frees its chunk for the next sweep. */
export function closeReplication(model: Model, task: TaskRow): void {
  if (task.kind !== 'replicate') return;
  const hash = (task.payload as { chunk_hash?: string } | null)?.chunk_hash;
  if (hash !== undefined && model.openReplication.get(hash) === task.id) {
    model.openReplication.delete(hash);
    model.suspects.add(hash);
  }
}
