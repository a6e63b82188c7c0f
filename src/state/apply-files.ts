// File registration with replica placement, and deletion.
import type { Command } from './commands.js';
import { type CommandResult, fail, ok } from './errors.js';
import type { Model } from './model.js';
import { placeReplicas } from './placement.js';

type Of<T extends Command['type']> = Extract<Command, { type: T }>;

export function registerFile(model: Model, cmd: Of<'file.register'>, ts: number): CommandResult {
  if (model.files.has(cmd.file_id)) return fail('CONCORD_ERR_CONFLICT', `file ${cmd.file_id} exists already`);
  if (model.filesByName.has(cmd.name)) return fail('CONCORD_ERR_CONFLICT', `a file named ${cmd.name} exists already`);
  const factor = cmd.replication_factor ?? model.limits.replicationFactor;
  const placements: { hash: string; nodes: string[] }[] = [];
  for (const chunk of cmd.chunks) {
    const holders = new Set(model.replicasByChunk.get(chunk.hash) ?? []);
    const needed = Math.max(0, factor - holders.size);
    const targets = placeReplicas({ nodes: model.nodes.values(), pendingBytes: (id) => model.pendingBytes(id), size: chunk.size, count: needed, exclude: holders });
    if (holders.size === 0 && targets.length === 0) {
      return fail('CONCORD_ERR_NO_CAPACITY', `no active node has room for chunk ${chunk.hash} (${chunk.size} bytes)`);
    }
    placements.push({ hash: chunk.hash, nodes: [...holders, ...targets.map((n) => n.id)] });
    for (const node of targets) model.setReplica({ chunk_hash: chunk.hash, node_id: node.id, state: 'pending', size: chunk.size });
    trackChunk(model, chunk.hash, chunk.size, cmd.file_id);
  }
  model.files.set(cmd.file_id, {
    id: cmd.file_id, name: cmd.name, size: cmd.size, chunk_size: cmd.chunk_size ?? null, replication_factor: factor,
    created_at: ts, chunks: cmd.chunks.map((c) => ({ hash: c.hash, size: c.size })),
  });
  model.filesByName.set(cmd.name, cmd.file_id);
  return ok({ file_id: cmd.file_id, replication_factor: factor, placements });
}

export function trackChunk(model: Model, hash: string, size: number, fileId: string): void {
  const entry = model.chunkFactor.get(hash) ?? { size, files: new Set<string>() };
  entry.files.add(fileId);
  model.chunkFactor.set(hash, entry);
}

export function deleteFile(model: Model, cmd: Of<'file.delete'>): CommandResult {
  const file = model.files.get(cmd.file_id);
  if (file === undefined) return fail('CONCORD_ERR_NOT_FOUND', `file ${cmd.file_id} does not exist`);
  model.files.delete(cmd.file_id);
  model.filesByName.delete(file.name);
  let released = 0;
  for (const chunk of file.chunks) {
    const entry = model.chunkFactor.get(chunk.hash);
    entry?.files.delete(cmd.file_id);
    if (entry !== undefined && entry.files.size === 0) {
      model.chunkFactor.delete(chunk.hash);
      for (const node of [...(model.replicasByChunk.get(chunk.hash) ?? [])]) {
        model.deleteReplica(chunk.hash, node);
        released++;
      }
    }
  }
  return ok({ file_id: cmd.file_id, replicas_released: released });
}

/** Replication factor of a chunk: the highest among the live files that hold it. */
export function chunkFactorOf(model: Model, hash: string): number {
  let factor = 0;
  for (const fileId of model.chunkFactor.get(hash)?.files ?? []) {
    factor = Math.max(factor, model.files.get(fileId)?.replication_factor ?? 0);
  }
  return factor;
}
