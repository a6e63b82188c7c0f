// The coordinator's in-memory model: the truth for command logic and point reads.
// Rows are readonly records replaced (never mutated) on change, so each table's
// checksum stays exact; file rows are `FileRecord`s, whose JSON is the plain row.
import { ChunkTable } from './chunk-table.js';
import { FileRecord, type PackedFileRow } from './file-record.js';
import { HashedTable, checksumHex } from './hashed-table.js';
import { Heap } from './heap.js';
import { PlacementIndex } from './placement-index.js';
import { TaskIndex } from './task-index.js';

/** Bytes of a chunk hash in binary form (a SHA-256). */
export const HASH_BYTES = 32;

/** The lowercase hex text of the HASH_BYTES bytes at `bytes[offset …]`. */
function hexAt(bytes: Uint8Array, offset: number): string {
  if (offset < 0 || offset + HASH_BYTES > bytes.length) throw new RangeError(`no ${HASH_BYTES}-byte hash at offset ${offset} of ${bytes.length} bytes`);
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, HASH_BYTES).toString('hex');
}

export type NodeStatus = 'active' | 'inactive' | 'dead' | 'unregistered';
export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type ReplicaState = 'pending' | 'stored';

export interface NodeRow {
  readonly id: string; readonly addresses: readonly string[]; readonly capacity: number; readonly used: number;
  readonly capabilities: Readonly<Record<string, string>>; readonly zone: string | null; readonly status: NodeStatus;
  readonly registered_at: number; readonly last_heartbeat: number;
  /**
   * The newest `stats` a heartbeat carried (keys sorted); absent before the first, so rows
   * without stats hash exactly as they did before the field existed (schema 2).
   */
  readonly stats?: Readonly<Record<string, number | string | boolean>>;
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
  /** Derived indexes (rebuilt from the tables, not part of the checksum). */
  readonly placement = new PlacementIndex();
  readonly taskIndex: TaskIndex;
  readonly filesByName = new Map<string, string>();
  readonly openReplication = new Map<string, string>();
  /**
   * Chunks that may have become under-replicated since the last sweep. With
   * `fullScan` (a node left `active`, or the model was loaded) the sweep checks
   * every chunk instead. Invariant: every under-replicated chunk without an open
   * replicate task is a suspect or fullScan is set, so the sweep's answer equals a
   * full scan on every replica, however it got its state.
   */
  readonly suspects = new Set<string>();
  fullScan = false;
  readonly #requestExpiry = new Heap<RequestRow>((a, b) => a.ts < b.ts || (a.ts === b.ts && a.key < b.key));

  readonly nodes = new HashedTable<NodeRow>('nodes', (id, old, row) => {
    this.placement.update(id, row, this.replicas.pendingBytes(id));
    if (old?.status === 'active' && row?.status !== 'active') this.fullScan = true;
  });
  readonly files = new HashedTable<FileRow>('files');
  /** Chunks and replicas; to storage it is the table `replicas` keyed "hash|node". */
  readonly replicas = new ChunkTable({ pendingChanged: (id) => this.placement.update(id, this.nodes.get(id), this.replicas.pendingBytes(id)) });
  readonly tasks: HashedTable<TaskRow>;
  readonly meta = new HashedTable<MetaRow>('meta');
  readonly requests = new HashedTable<RequestRow>('requests', (_key, old, row) => {
    if (row !== undefined && row !== old) this.#requestExpiry.push(row);
  });

  constructor(readonly limits: DomainLimits = DEFAULT_LIMITS) {
    this.taskIndex = new TaskIndex((id) => this.tasks.get(id));
    this.tasks = new HashedTable<TaskRow>('tasks', (id, old, row) => this.taskIndex.changed(id, old, row));
  }

  /** Rebuild the derived indexes after rows were loaded from storage into a fresh model (files: see `loadFile`). */
  rebuildIndexes(): void {
    this.openReplication.clear();
    this.placement.clear();
    this.taskIndex.clear();
    this.#requestExpiry.clear();
    this.suspects.clear();
    this.fullScan = true;
    for (const node of this.nodes.values()) this.placement.update(node.id, node, this.replicas.pendingBytes(node.id));
    for (const task of this.tasks.values()) {
      this.taskIndex.changed(task.id, undefined, task);
      const hash = (task.payload as { chunk_hash?: string } | null)?.chunk_hash;
      if (task.kind === 'replicate' && (task.status === 'queued' || task.status === 'running') && hash !== undefined) {
        this.openReplication.set(hash, task.id);
      }
    }
    for (const row of this.requests.values()) this.#requestExpiry.push(row);
  }

  /**
   * Load a file row read back from storage into a fresh model (see `HashedTable.load`):
   * the file joins its chunks in the chunk table (which refuses a size that disagrees
   * with another row's) and the file-name index, and is kept as a `FileRecord` holding
   * the chunks' slots, so the row's hash strings die young instead of staying as ~80
   * bytes each.
   */
  loadFile(id: string, row: FileRow): void {
    const slots = row.chunks.map((chunk) => this.replicas.loadFile(chunk.hash, chunk.size, row.id));
    this.files.load(id, FileRecord.of(row, slots, this.replicas));
    this.filesByName.set(row.name, row.id);
  }

  /**
   * `loadFile` for a row whose `chunks` holds only the chunks' sizes, their hashes being
   * the lowercase hex of the 32-byte values at `bytes[offset …]`, one per chunk in order
   * (how the store hands over a row that it keeps packed: no string per chunk).
   */
  loadPackedFile(id: string, row: PackedFileRow, bytes: Uint8Array, offset: number): void {
    // The sizes become the slots in place (one array less per file).
    const slots = row.chunks as number[];
    for (let i = 0; i < slots.length; i++) slots[i] = this.replicas.loadFileChunk(bytes, offset + HASH_BYTES * i, slots[i], row.id);
    this.files.load(id, FileRecord.ofLoaded(row, slots, this.replicas)
      ?? { ...row, chunks: slots.map((slot, i) => ({ hash: hexAt(bytes, offset + HASH_BYTES * i), size: this.replicas.sizeAt(slot) })) });
    this.filesByName.set(row.name, row.id);
  }

  checksum(): string {
    let total = 0n;
    for (const table of [this.nodes, this.files, this.replicas, this.tasks, this.meta, this.requests]) total ^= table.checksum;
    return checksumHex(total);
  }

  setReplica(row: ReplicaRow): void {
    this.replicas.setReplica(row.chunk_hash, row.node_id, row.state, row.size);
  }

  deleteReplica(chunkHash: string, nodeId: string): void {
    if (this.replicas.deleteReplica(chunkHash, nodeId)) this.suspects.add(chunkHash);
  }

  replicasOf(chunkHash: string): ReplicaRow[] {
    return this.replicas.replicasOf(chunkHash);
  }

  /** Replication factor of a chunk held by `files`: the highest among those live files (the sweep, stats and metrics all count by it). */
  factorOfFiles(files: string | readonly string[]): number {
    const factor = (id: string) => this.files.get(id)?.replication_factor ?? 0;
    return typeof files === 'string' ? factor(files) : files.reduce((max, id) => Math.max(max, factor(id)), 0);
  }

  /** Chunks of live files with fewer replicas on active nodes than their factor (as the sweep and stats count). */
  underReplicatedChunks(): number {
    return this.replicas.countUnderReplicated((id) => this.nodes.get(id)?.status === 'active', (files) => this.factorOfFiles(files));
  }

  /** Bytes promised to a node by pending replicas (not yet in its reported `used`). */
  pendingBytes(nodeId: string): number {
    return this.replicas.pendingBytes(nodeId);
  }

  /** Idempotency records older than the retention at `ts`, oldest first. */
  *expiredRequests(ts: number): IterableIterator<RequestRow> {
    for (;;) {
      const top = this.#requestExpiry.peek();
      if (top === undefined || ts - top.ts <= this.limits.idempotencyRetentionMs) return;
      this.#requestExpiry.pop();
      if (this.requests.get(top.key) === top) yield top;
    }
  }

  maintenance(): { enabled: boolean; reason: string | null; since: number | null } {
    const row = this.meta.get('maintenance')?.value as { enabled: boolean; reason: string | null; since: number | null } | undefined;
    return row ?? { enabled: false, reason: null, since: null };
  }
}
