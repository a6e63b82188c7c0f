// The liveness sweep, proposed by the leader periodically and applied by `ts`:
// node status by heartbeat age, expired task leases, and one open `replicate`
// task per under-replicated chunk.
import { chunkFactorOf } from './apply-files.js';
import { closeReplication } from './apply-tasks.js';
import { type CommandResult, ok } from './errors.js';
import type { Model, TaskRow } from './model.js';

export function sweep(model: Model, ts: number): CommandResult {
  const nodes = sweepNodes(model, ts);
  const leases = sweepLeases(model, ts);
  const replication = sweepReplication(model, ts);
  pruneRequests(model, ts);
  return ok({ nodes, leases_expired: leases, replicate_tasks: replication });
}

function sweepNodes(model: Model, ts: number): { inactive: number; dead: number } {
  let inactive = 0;
  let dead = 0;
  const { nodeTimeoutMs, nodeInactiveAfterMs } = model.limits;
  for (const node of [...model.nodes.values()]) {
    const age = ts - node.last_heartbeat;
    if ((node.status === 'active' || node.status === 'inactive') && age > nodeTimeoutMs + nodeInactiveAfterMs) {
      model.nodes.set(node.id, { ...node, status: 'dead' });
      dead++;
    } else if (node.status === 'active' && age > nodeTimeoutMs) {
      model.nodes.set(node.id, { ...node, status: 'inactive' });
      inactive++;
    }
  }
  return { inactive, dead };
}

function sweepLeases(model: Model, ts: number): number {
  let expired = 0;
  for (const id of [...model.taskIndex.running].sort()) {
    const task = model.tasks.get(id)!;
    if (task.status !== 'running' || task.lease_expires_at === null || task.lease_expires_at > ts) continue;
    const attempts = task.attempts + 1;
    const row: TaskRow = { ...task, status: attempts >= task.max_attempts ? 'failed' : 'queued', attempts, worker_id: null,
      lease_expires_at: null, error: 'lease expired', updated_at: ts };
    model.tasks.set(task.id, row);
    if (row.status === 'failed') closeReplication(model, row);
    expired++;
  }
  return expired;
}

/** Chunks to check: the suspects, or every chunk after a node left `active` or a reload. */
function chunksToCheck(model: Model): string[] {
  const hashes = model.fullScan ? [...model.replicas.hashes()] : [...model.suspects];
  model.fullScan = false;
  model.suspects.clear();
  return hashes.sort();
}

function sweepReplication(model: Model, ts: number): number {
  let created = 0;
  for (const hash of chunksToCheck(model)) {
    const size = model.replicas.sizeOf(hash);
    if (size === undefined || !model.replicas.hasFiles(hash) || model.openReplication.has(hash)) continue;
    const factor = chunkFactorOf(model, hash);
    const replicas = model.replicasOf(hash);
    const live = replicas.filter((r) => model.nodes.get(r.node_id)?.status === 'active');
    if (live.length >= factor) continue;
    const targets = model.placement.place(size, factor - live.length, new Set(replicas.map((r) => r.node_id)));
    const sources = live.filter((r) => r.state === 'stored').map((r) => r.node_id);
    const id = `replicate-${hash}-${ts}`;
    model.tasks.set(id, {
      id, kind: 'replicate', payload: { chunk_hash: hash, sources, targets: targets.map((t) => t.id) }, status: 'queued',
      priority: 100, required_capabilities: [], worker_id: null, lease_expires_at: null, attempts: 0,
      max_attempts: model.limits.taskMaxAttempts, result: null, error: null, created_at: ts, updated_at: ts,
    });
    model.openReplication.set(hash, id);
    created++;
  }
  return created;
}

function pruneRequests(model: Model, ts: number): void {
  for (const row of [...model.expiredRequests(ts)]) model.requests.delete(row.key);
}
