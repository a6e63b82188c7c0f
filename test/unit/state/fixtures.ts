// Helpers for state-machine tests: build envelopes and apply them.
import type { ChunkTable } from '../../../src/state/chunk-table.js';
import { applyEntryData, encodeCommand, Model, type CommandInput, type CommandResult } from '../../../src/state/index.js';

export type Cmd = CommandInput['cmd'];

export function run(model: Model, cmd: Cmd, ts = 1000, idempotencyKey?: string): CommandResult {
  const envelope: CommandInput = idempotencyKey === undefined ? { v: 1, ts, cmd } : { v: 1, ts, cmd, idempotency_key: idempotencyKey };
  return applyEntryData(model, encodeCommand(envelope));
}

export function value<T = Record<string, unknown>>(result: CommandResult): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value as T;
}

export function register(model: Model, id: string, capacity = 1_000_000, zone?: string, ts = 1000): void {
  value(run(model, { type: 'node.register', id, addresses: [`127.0.0.1:${9000 + id.length}`], storage_capacity: capacity,
    capabilities: { version: '1' }, ...(zone === undefined ? {} : { zone }) }, ts));
}

/** Bulk-load `from`'s replica rows into the empty `into` as the store does (node numbers, holder codes); the checksum is left to the caller. */
export function bulkLoadReplicas(into: ChunkTable, from: ChunkTable): void {
  const rows = [...from.values()];
  const ids = [...new Set(rows.map((r) => r.node_id))].sort();
  into.loadNodeIds(ids);
  const codes = rows.map((r) => ids.indexOf(r.node_id) * 2 + (r.state === 'stored' ? 1 : 0));
  rows.forEach((r, i) => into.loadHolders(r.chunk_hash, r.size, codes, i, 1));
  into.finishLoad();
}
