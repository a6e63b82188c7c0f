// Node registration, heartbeats, unregistration and replica reports.
import type { Command } from './commands.js';
import { type CommandResult, fail, ok } from './errors.js';
import type { Model, NodeRow } from './model.js';

type Of<T extends Command['type']> = Extract<Command, { type: T }>;

/**
 * `r` with its keys in sorted order: `r` itself when they are already (a command's own
 * object, decoded for this apply and not kept elsewhere; most hold a key or two), which
 * enumerates exactly as the sorted copy would.
 */
function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  const keys = Object.keys(r);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1] > keys[i]) return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return r;
}

export function registerNode(model: Model, cmd: Of<'node.register'>, ts: number): CommandResult {
  const existing = model.nodes.get(cmd.id);
  const row: NodeRow = {
    id: cmd.id, addresses: [...cmd.addresses], capacity: cmd.storage_capacity, used: existing?.used ?? 0,
    capabilities: sortedRecord(cmd.capabilities), zone: cmd.zone ?? null, status: 'active',
    registered_at: existing?.registered_at ?? ts, last_heartbeat: ts,
    ...(existing?.stats === undefined ? {} : { stats: existing.stats }),
  };
  model.nodes.replace(cmd.id, existing, row);
  return ok({ id: cmd.id, status: row.status, registered_at: row.registered_at });
}

export function heartbeats(model: Model, cmd: Of<'node.heartbeat_batch'>, ts: number): CommandResult {
  const unknown: string[] = [];
  for (const beat of cmd.beats) {
    const node = model.nodes.get(beat.id);
    if (node === undefined || node.status === 'unregistered') {
      unknown.push(beat.id);
      continue;
    }
    model.nodes.set(beat.id, { ...node, used: beat.used_bytes, last_heartbeat: ts, status: 'active',
      ...(beat.stats === undefined ? {} : { stats: sortedRecord(beat.stats) }) });
  }
  return ok({ accepted: cmd.beats.length - unknown.length, unknown });
}

export function unregisterNode(model: Model, cmd: Of<'node.unregister'>): CommandResult {
  const node = model.nodes.get(cmd.id);
  if (node === undefined) return fail('CONCORD_ERR_NOT_FOUND', `node ${cmd.id} is not registered`);
  model.nodes.set(cmd.id, { ...node, status: 'unregistered' });
  return ok({ id: cmd.id, status: 'unregistered' });
}

export function reportReplicas(model: Model, cmd: Of<'replica.report'>): CommandResult {
  if (!model.nodes.has(cmd.node_id)) return fail('CONCORD_ERR_NOT_FOUND', `node ${cmd.node_id} is not registered`);
  let stored = 0;
  for (const hash of cmd.stored) {
    const size = model.replicas.sizeOf(hash);
    if (size === undefined || !model.replicas.hasFiles(hash)) continue; // unknown chunks are ignored, not invented
    model.setReplica({ chunk_hash: hash, node_id: cmd.node_id, state: 'stored', size });
    stored++;
  }
  let lost = 0;
  for (const hash of cmd.lost) {
    if (model.replicas.has(`${hash}|${cmd.node_id}`)) {
      model.deleteReplica(hash, cmd.node_id);
      lost++;
    }
  }
  return ok({ stored, lost });
}
