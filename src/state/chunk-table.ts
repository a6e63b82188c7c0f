// Chunks and their replicas, stored compactly: one record per chunk hash holding its
// size, the live files that contain it and its holders packed into one string (three
// UTF-16 code units per holder: node number high/low, state). A million replicas
// cost about a third of what one object per replica did. To storage and the
// checksum it looks like the row table `replicas` ("hash|node" → ReplicaRow): the
// checksum is the XOR of the same per-row hashes, maintained on every change.
import { rowHash } from './hashed-table.js';
import type { ReplicaRow, ReplicaState } from './model.js';

export interface ChunkRecord {
  readonly hash: string;
  /** Bytes of the chunk; every replica has this size. */
  readonly size: number;
  /** Live files holding the chunk: one id, or an array when shared. */
  files: string | string[] | null;
  /** Packed holders: [hi, lo, state] per holder, state 0 = pending, 1 = stored. */
  holders: string;
}

const PENDING = 0;
const STORED = 1;

export interface ChunkTableHooks {
  /** A node's pending bytes changed. */
  readonly pendingChanged?: (nodeId: string) => void;
}

export class ChunkTable {
  readonly name = 'replicas';
  readonly #chunks = new Map<string, ChunkRecord>();
  readonly #nodeIds: string[] = [];
  readonly #nodeNumbers = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  #changes = new Map<string, boolean>();
  #checksum = 0n;
  #replicas = 0;
  #withFiles = 0;

  constructor(private readonly hooks: ChunkTableHooks = {}) {}

  /** Replica count (the size of the `replicas` table). */
  get size(): number {
    return this.#replicas;
  }

  /** Distinct chunks held by live files. */
  get chunkCount(): number {
    return this.#withFiles;
  }

  get checksum(): bigint {
    return this.#checksum;
  }

  get changeCount(): number {
    return this.#changes.size;
  }

  chunk(hash: string): ChunkRecord | undefined {
    return this.#chunks.get(hash);
  }

  hashes(): IterableIterator<string> {
    return this.#chunks.keys();
  }

  /** Holders of a chunk, sorted by node id. */
  replicasOf(hash: string): ReplicaRow[] {
    const record = this.#chunks.get(hash);
    if (record === undefined) return [];
    const rows: ReplicaRow[] = [];
    for (let i = 0; i < record.holders.length; i += 3) rows.push(this.#row(record, i));
    return rows.sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
  }

  holderIds(hash: string): string[] {
    return this.replicasOf(hash).map((r) => r.node_id);
  }

  get(key: string): ReplicaRow | undefined {
    const [hash, node] = splitKey(key);
    const record = this.#chunks.get(hash);
    const at = record === undefined ? -1 : this.#find(record, node);
    return at < 0 ? undefined : this.#row(record!, at);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  pendingBytes(nodeId: string): number {
    return this.#pending.get(nodeId) ?? 0;
  }

  /**
   * Chunks of live files held by fewer counted nodes than `factorOf(files)` asks for.
   * One pass over the packed holders, no row objects: cheap enough for a metrics scrape.
   */
  countUnderReplicated(counts: (nodeId: string) => boolean, factorOf: (files: string | readonly string[]) => number): number {
    const counted = this.#nodeIds.map(counts);
    let under = 0;
    for (const record of this.#chunks.values()) {
      if (record.files === null) continue;
      const want = factorOf(record.files);
      let have = 0;
      for (let i = 0; i < record.holders.length && have < want; i += 3) {
        if (counted[record.holders.charCodeAt(i) * 65536 + record.holders.charCodeAt(i + 1)]) have++;
      }
      if (have < want) under++;
    }
    return under;
  }

  /**
   * Register that `fileId` holds the chunk. Returns the chunk's hash string as this table
   * keeps it (to share), or null, registering nothing, if the size disagrees with an earlier one.
   */
  addFile(hash: string, size: number, fileId: string): string | null {
    const record = this.#record(hash, size);
    if (record.size !== size) return null;
    if (record.files === null) {
      record.files = fileId;
      this.#withFiles++;
    } else if (typeof record.files === 'string') {
      if (record.files !== fileId) record.files = [record.files, fileId];
    } else if (!record.files.includes(fileId)) record.files.push(fileId);
    return record.hash;
  }

  /** Drop `fileId` from the chunk; returns the number of files still holding it. */
  removeFile(hash: string, fileId: string): number {
    const record = this.#chunks.get(hash);
    if (record === undefined || record.files === null) return 0;
    const rest = typeof record.files === 'string' ? (record.files === fileId ? [] : [record.files]) : record.files.filter((f) => f !== fileId);
    record.files = rest.length === 0 ? null : rest.length === 1 ? rest[0] : rest;
    if (rest.length === 0) {
      this.#withFiles--;
      this.#dropIfEmpty(record);
    }
    return rest.length;
  }

  filesOf(hash: string): readonly string[] {
    const files = this.#chunks.get(hash)?.files ?? null;
    return files === null ? [] : typeof files === 'string' ? [files] : files;
  }

  setReplica(hash: string, nodeId: string, state: ReplicaState, size: number): void {
    const record = this.#record(hash, size);
    const at = this.#find(record, nodeId);
    const code = state === 'stored' ? STORED : PENDING;
    if (at >= 0) {
      const old = this.#row(record, at);
      this.#checksum ^= rowHash(this.name, `${hash}|${nodeId}`, old);
      this.#adjustPending(old, -1);
      record.holders = record.holders.slice(0, at + 2) + String.fromCharCode(code) + record.holders.slice(at + 3);
    } else {
      const n = this.#number(nodeId);
      record.holders += String.fromCharCode(Math.floor(n / 65536), n % 65536, code);
      this.#replicas++;
    }
    const row: ReplicaRow = { chunk_hash: hash, node_id: nodeId, state, size: record.size };
    this.#checksum ^= rowHash(this.name, `${hash}|${nodeId}`, row);
    this.#adjustPending(row, 1);
    this.#changes.set(`${hash}|${nodeId}`, true);
  }

  deleteReplica(hash: string, nodeId: string): boolean {
    const record = this.#chunks.get(hash);
    const at = record === undefined ? -1 : this.#find(record, nodeId);
    if (at < 0) return false;
    const old = this.#row(record!, at);
    this.#checksum ^= rowHash(this.name, `${hash}|${nodeId}`, old);
    this.#adjustPending(old, -1);
    record!.holders = record!.holders.slice(0, at) + record!.holders.slice(at + 3);
    this.#replicas--;
    this.#changes.set(`${hash}|${nodeId}`, false);
    this.#dropIfEmpty(record!);
    return true;
  }

  /** The rows to upsert and the keys to delete since the last call. */
  takeChanges(): { upserts: [string, ReplicaRow][]; deletes: string[] } {
    const upserts: [string, ReplicaRow][] = [];
    const deletes: string[] = [];
    for (const [key, present] of this.#changes) {
      const row = present ? this.get(key) : undefined;
      if (row !== undefined) upserts.push([key, row]);
      else deletes.push(key);
    }
    this.#changes = new Map();
    return { upserts, deletes };
  }

  /**
   * Load a row read back from storage without marking it changed or hashing it (the
   * loader sets the checksum afterwards: `adoptChecksum`). A stored size that disagrees
   * with the chunk's first one is not kept: the database's own checksum
   * (`checksumFromDatabase`) then differs from the model's.
   */
  load(key: string, row: ReplicaRow): void {
    const [hash, nodeId] = splitKey(key);
    const record = this.#record(hash, row.size);
    const n = this.#number(nodeId);
    record.holders += String.fromCharCode(Math.floor(n / 65536), n % 65536, row.state === 'stored' ? STORED : PENDING);
    this.#replicas++;
    this.#adjustPending({ ...row, size: record.size }, 1, false);
  }

  /** Bulk load, step 1 (a fresh table): node ids in the order of the numbers `loadHolders` uses. */
  loadNodeIds(ids: readonly string[]): void {
    if (this.#nodeIds.length > 0 || this.#chunks.size > 0) throw new Error('loadNodeIds needs an empty chunk table');
    for (const id of ids) this.#number(id);
  }

  /** Bulk load, step 2: holders of a chunk, packed as `ChunkRecord.holders`; nothing is hashed or marked changed. */
  loadHolders(hash: string, size: number, holders: string): void {
    const record = this.#record(hash, size);
    record.holders += holders;
    this.#replicas += holders.length / 3;
  }

  /** Bulk load, step 3: every node's pending bytes, from the loaded holders. */
  finishLoad(): void {
    const pending = new Float64Array(this.#nodeIds.length);
    for (const record of this.#chunks.values()) {
      for (let i = 0; i < record.holders.length; i += 3) {
        if (record.holders.charCodeAt(i + 2) === PENDING) pending[record.holders.charCodeAt(i) * 65536 + record.holders.charCodeAt(i + 1)] += record.size;
      }
    }
    this.#pending.clear();
    pending.forEach((bytes, n) => { if (bytes !== 0) this.#pending.set(this.#nodeIds[n], bytes); });
  }

  /** Take `checksum` as the hash of the loaded rows (see `load`). */
  adoptChecksum(checksum: bigint): void {
    this.#checksum = checksum;
  }

  /** The checksum recomputed from every replica held (O(replicas)): what `checksum` must equal. */
  rowsChecksum(): bigint {
    let total = 0n;
    for (const [key, row] of this.entries()) total ^= rowHash(this.name, key, row);
    return total;
  }

  *entries(): IterableIterator<[string, ReplicaRow]> {
    for (const record of this.#chunks.values()) {
      for (let i = 0; i < record.holders.length; i += 3) {
        const row = this.#row(record, i);
        yield [`${record.hash}|${row.node_id}`, row];
      }
    }
  }

  *values(): IterableIterator<ReplicaRow> {
    for (const [, row] of this.entries()) yield row;
  }

  #record(hash: string, size: number): ChunkRecord {
    let record = this.#chunks.get(hash);
    if (record === undefined) {
      record = { hash, size, files: null, holders: '' };
      this.#chunks.set(hash, record);
    }
    return record;
  }

  #dropIfEmpty(record: ChunkRecord): void {
    if (record.files === null && record.holders.length === 0) this.#chunks.delete(record.hash);
  }

  #number(nodeId: string): number {
    let n = this.#nodeNumbers.get(nodeId);
    if (n === undefined) {
      n = this.#nodeIds.length;
      this.#nodeIds.push(nodeId);
      this.#nodeNumbers.set(nodeId, n);
    }
    return n;
  }

  #find(record: ChunkRecord, nodeId: string): number {
    const n = this.#nodeNumbers.get(nodeId);
    if (n === undefined) return -1;
    const hi = Math.floor(n / 65536);
    const lo = n % 65536;
    for (let i = 0; i < record.holders.length; i += 3) {
      if (record.holders.charCodeAt(i) === hi && record.holders.charCodeAt(i + 1) === lo) return i;
    }
    return -1;
  }

  #row(record: ChunkRecord, at: number): ReplicaRow {
    const n = record.holders.charCodeAt(at) * 65536 + record.holders.charCodeAt(at + 1);
    const state: ReplicaState = record.holders.charCodeAt(at + 2) === STORED ? 'stored' : 'pending';
    return { chunk_hash: record.hash, node_id: this.#nodeIds[n], state, size: record.size };
  }

  #adjustPending(row: ReplicaRow, sign: 1 | -1, notify = true): void {
    if (row.state !== 'pending') return;
    const next = (this.#pending.get(row.node_id) ?? 0) + sign * row.size;
    if (next === 0) this.#pending.delete(row.node_id);
    else this.#pending.set(row.node_id, next);
    if (notify) this.hooks.pendingChanged?.(row.node_id);
  }
}

function splitKey(key: string): [string, string] {
  const bar = key.lastIndexOf('|');
  return [key.slice(0, bar), key.slice(bar + 1)];
}
