// The coordinator's in-memory model: the truth for command logic and point reads.
// Rows are plain readonly records replaced (never mutated) on change, so each
// table's checksum stays exact.
import { HashedTable } from './hashed-table.js';

export type NodeStatus = 'active' | 'inactive' | 'dead' | 'unregistered';
export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type ReplicaState = 'pending' | 'stored';

export interface NodeRow {
  readonly id: string; readonly addresses: readonly string[]; readonly capacity: number; readonly used: number;
  readonly capabilities: Readonly<Record<string, string>>; readonly zone: string | null; readonly status: NodeStatus;
  readonly registered_at: number; readonly last_heartbeat: number;
}
export interface FileRow {
  readonly id: string; readonly name: string; readonly size: number; readonly chunk_size: number | null;
  readonly replication_factor: number; readonly created_at: number; readonly chunks: readonly { hash: string; size: number }[];
}
export interface ReplicaRow { readonly chunk_hash: string; readonly node_id: string; readonly state: ReplicaState; readonly size: number }
export interface TaskRow {
  readonly id: string; readonly kind: string; readonly payload: unknown; readonly status: TaskStatus; readonly priority: number;
  readonly required_capabilities: readonly string[]; readonly worker_id: string | null; readonly lease_expires_at: number | null;
  readonly attempts: number; readonly max_attempts: number; readonly result: unknown; readonly error: string | null;
  readonly created_at: number; readonly updated_at: number;
}
export interface MetaRow { readonly key: string; readonly value: unknown }
export interface RequestRow { readonly key: string; readonly result: unknown; readonly ts: number }

export interface DomainLimits {
  readonly nodeTimeoutMs: number;
  readonly nodeInactiveAfterMs: number;
  readonly replicationFactor: number;
  readonly taskMaxAttempts: number;
  readonly idempotencyRetentionMs: number;
}

export const DEFAULT_LIMITS: DomainLimits = {
  nodeTimeoutMs: 15_000, nodeInactiveAfterMs: 60_000, replicationFactor: 3, taskMaxAttempts: 3, idempotencyRetentionMs: 24 * 3_600_000,
};

export class Model {
  readonly nodes = new HashedTable<NodeRow>('nodes');
  readonly files = new HashedTable<FileRow>('files');
  /** Keyed "hash|node". */
  readonly replicas = new HashedTable<ReplicaRow>('replicas');
  readonly tasks = new HashedTable<TaskRow>('tasks');
  readonly meta = new HashedTable<MetaRow>('meta');
  readonly requests = new HashedTable<RequestRow>('requests');
  /** Derived indexes (rebuilt from the tables, not part of the checksum). */
  readonly replicasByChunk = new Map<string, Set<string>>();
  readonly filesByName = new Map<string, string>();
  readonly chunkFactor = new Map<string, { size: number; files: Set<string> }>();
  readonly openReplication = new Map<string, string>();

  constructor(readonly limits: DomainLimits = DEFAULT_LIMITS) {}

  /** Rebuild the derived indexes after rows were loaded from storage. */
  rebuildIndexes(): void {
    this.replicasByChunk.clear();
    this.filesByName.clear();
    this.chunkFactor.clear();
    this.openReplication.clear();
    this.#pendingBytes.clear();
    for (const row of this.replicas.values()) {
      const holders = this.replicasByChunk.get(row.chunk_hash) ?? new Set<string>();
      holders.add(row.node_id);
      this.replicasByChunk.set(row.chunk_hash, holders);
      this.#adjustPending(row, 1);
    }
    for (const file of this.files.values()) {
      this.filesByName.set(file.name, file.id);
      for (const chunk of file.chunks) {
        const entry = this.chunkFactor.get(chunk.hash) ?? { size: chunk.size, files: new Set<string>() };
        entry.files.add(file.id);
        this.chunkFactor.set(chunk.hash, entry);
      }
    }
    for (const task of this.tasks.values()) {
      const hash = (task.payload as { chunk_hash?: string } | null)?.chunk_hash;
      if (task.kind === 'replicate' && (task.status === 'queued' || task.status === 'running') && hash !== undefined) {
        this.openReplication.set(hash, task.id);
      }
    }
  }

  checksum(): string {
    let total = 0n;
    for (const table of [this.nodes, this.files, this.replicas, this.tasks, this.meta, this.requests]) total ^= table.checksum;
    return total.toString(16).padStart(16, '0');
  }

  /** node -> bytes promised by pending replicas (not yet in its reported `used`). */
  readonly #pendingBytes = new Map<string, number>();

  #adjustPending(row: ReplicaRow | undefined, sign: 1 | -1): void {
    if (row === undefined || row.state !== 'pending') return;
    this.#pendingBytes.set(row.node_id, (this.#pendingBytes.get(row.node_id) ?? 0) + sign * row.size);
  }

  setReplica(row: ReplicaRow): void {
    const key = `${row.chunk_hash}|${row.node_id}`;
    this.#adjustPending(this.replicas.get(key), -1);
    this.#adjustPending(row, 1);
    this.replicas.set(key, row);
    const holders = this.replicasByChunk.get(row.chunk_hash) ?? new Set<string>();
    holders.add(row.node_id);
    this.replicasByChunk.set(row.chunk_hash, holders);
  }

  deleteReplica(chunkHash: string, nodeId: string): void {
    this.#adjustPending(this.replicas.get(`${chunkHash}|${nodeId}`), -1);
    this.replicas.delete(`${chunkHash}|${nodeId}`);
    const holders = this.replicasByChunk.get(chunkHash);
    holders?.delete(nodeId);
    if (holders?.size === 0) this.replicasByChunk.delete(chunkHash);
  }

  replicasOf(chunkHash: string): ReplicaRow[] {
    const holders = this.replicasByChunk.get(chunkHash);
    if (holders === undefined) return [];
    return [...holders].sort().map((node) => this.replicas.get(`${chunkHash}|${node}`)!);
  }

  /** Bytes promised to a node by pending replicas (not yet in its reported `used`). */
  pendingBytes(nodeId: string): number {
    return this.#pendingBytes.get(nodeId) ?? 0;
  }

  maintenance(): { enabled: boolean; reason: string | null; since: number | null } {
    const row = this.meta.get('maintenance')?.value as { enabled: boolean; reason: string | null; since: number | null } | undefined;
    return row ?? { enabled: false, reason: null, since: null };
  }
}
