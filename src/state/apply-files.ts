// File registration with replica placement, and deletion.
import type { Command } from './commands.js';
import { type CommandResult, fail, ok } from './errors.js';
import { FileRecord } from './file-record.js';
import type { Model } from './model.js';

type Of<T extends Command['type']> = Extract<Command, { type: T }>;

export function registerFile(model: Model, cmd: Of<'file.register'>, ts: number): CommandResult {
  if (model.files.has(cmd.file_id)) return fail('CONCORD_ERR_CONFLICT', `file ${cmd.file_id} exists already`);
  if (model.filesByName.has(cmd.name)) return fail('CONCORD_ERR_CONFLICT', `a file named ${cmd.name} exists already`);
  const factor = cmd.replication_factor ?? model.limits.replicationFactor;
  // Check every chunk before changing anything: a refused command leaves no trace.
  const seen = new Map<string, number>();
  for (const chunk of cmd.chunks) {
    const known = model.replicas.sizeOf(chunk.hash) ?? seen.get(chunk.hash);
    if (known !== undefined && known !== chunk.size) {
      return fail('CONCORD_ERR_CONFLICT', `chunk ${chunk.hash} is known with size ${known}, not ${chunk.size}`);
    }
    seen.set(chunk.hash, chunk.size);
  }
  const placements: { hash: string; nodes: string[] }[] = [];
  const planned: { hash: string; targets: string[] }[] = [];
  for (const chunk of cmd.chunks) {
    const holders = new Set(model.replicas.holderIds(chunk.hash));
    const targets = model.placement.place(chunk.size, Math.max(0, factor - holders.size), holders).map((n) => n.id);
    if (holders.size === 0 && targets.length === 0) {
      // Undo the pending replicas placed for earlier chunks of this file.
      for (const p of planned) for (const node of p.targets) model.replicas.deleteReplica(p.hash, node);
      return fail('CONCORD_ERR_NO_CAPACITY', `no active node has room for chunk ${chunk.hash} (${chunk.size} bytes)`);
    }
    placements.push({ hash: chunk.hash, nodes: [...holders, ...targets] });
    planned.push({ hash: chunk.hash, targets });
    for (const node of targets) model.setReplica({ chunk_hash: chunk.hash, node_id: node, state: 'pending', size: chunk.size });
  }
  // The file keeps the chunks' slots in the chunk table.
  const slots = cmd.chunks.map((chunk) => {
    model.suspects.add(chunk.hash);
    return model.replicas.addFile(chunk.hash, chunk.size, cmd.file_id);
  });
  model.files.set(cmd.file_id, FileRecord.of({
    id: cmd.file_id, name: cmd.name, size: cmd.size, chunk_size: cmd.chunk_size ?? null, replication_factor: factor,
    created_at: ts, chunks: cmd.chunks,
  }, slots, model.replicas));
  model.filesByName.set(cmd.name, cmd.file_id);
  return ok({ file_id: cmd.file_id, replication_factor: factor, placements });
}

export function deleteFile(model: Model, cmd: Of<'file.delete'>): CommandResult {
  const file = model.files.get(cmd.file_id);
  if (file === undefined) return fail('CONCORD_ERR_NOT_FOUND', `file ${cmd.file_id} does not exist`);
  model.files.delete(cmd.file_id);
  model.filesByName.delete(file.name);
  let released = 0;
  for (const chunk of file.chunks) {
    if (model.replicas.removeFile(chunk.hash, cmd.file_id) > 0) continue;
    for (const node of model.replicas.holderIds(chunk.hash)) {
      model.replicas.deleteReplica(chunk.hash, node);
      released++;
    }
  }
  return ok({ file_id: cmd.file_id, replicas_released: released });
}

/** Replication factor of a chunk: the highest among the live files that hold it. */
export function chunkFactorOf(model: Model, hash: string): number {
  return model.factorOfFiles(model.replicas.filesOf(hash));
}
