// Chunks and their replicas, stored compactly: each chunk hash has a slot number
// (found through a `ChunkIndex`, which keeps a SHA-256 hash as 8 words, not a string)
// and the slot's fields live in arrays: its size, the live files that contain it, and
// its holders as integers (node number × 2 + state) in a `SlotLists` pool. No object
// or string per chunk or per replica; freed slots are reused (a slot lives while a
// file or a holder has the chunk, so a live file's record can keep slot numbers).
// To storage and the checksum it looks like the row table `replicas` ("hash|node" →
// ReplicaRow): the checksum is the XOR of the same per-row hashes, maintained on
// every change.
import { ChangeSet, type TableChangeList } from './change-set.js';
import { ChunkIndex } from './chunk-index.js';
import { isChunkSize } from './file-record.js';
import { rowHash } from './row-hash.js';
import type { ReplicaRow, ReplicaState } from './model.js';
import { SlotLists } from './slot-lists.js';

/** Holder code: node number × 2 + state (0 = pending, 1 = stored). */
const PENDING = 0;
const STORED = 1;

export interface ChunkTableHooks {
  /** A node's pending bytes changed. */
  readonly pendingChanged?: (nodeId: string) => void;
}

export class ChunkTable {
  readonly name = 'replicas';
  /** Chunk hash → slot. */
  readonly #index = new ChunkIndex();
  /** Per slot: in use (1) or free (0), size in bytes, live files (one id, an array when shared, or null). */
  #inUse = new Uint8Array(0);
  readonly #sizes: number[] = [];
  readonly #files: (string | string[] | null)[] = [];
  readonly #holders = new SlotLists();
  readonly #free: number[] = [];
  readonly #nodeIds: string[] = [];
  readonly #nodeNumbers = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  readonly #changes = new ChangeSet();
  #checksum = 0n;
  #replicas = 0;
  #withFiles = 0;

  constructor(private readonly hooks: ChunkTableHooks = {}) {}

  /** Replica count (the size of the `replicas` table). */
  get size(): number {
    return this.#replicas;
  }

  /** Distinct chunks known (held by a live file or by some node). */
  get knownChunks(): number {
    return this.#index.size;
  }

  /** Make room for `chunks` chunks at once (a bulk load that knows how many are coming). */
  reserve(chunks: number): void {
    this.#holders.reserve(chunks);
    this.#index.reserve(chunks);
    this.#reserveInUse(chunks);
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

  /** Whether the chunk is known (held by a live file or by some node). */
  hasChunk(hash: string): boolean {
    return this.#index.get(hash) >= 0;
  }

  /** The chunk's size, if it is known. */
  sizeOf(hash: string): number | undefined {
    const slot = this.#index.get(hash);
    return slot < 0 ? undefined : this.#sizes[slot];
  }

  /** The hash of the chunk at a slot in use (as `addFile` returned it). */
  hashAt(slot: number): string {
    return this.#index.hashAt(slot);
  }

  /** The size of the chunk at a slot in use. */
  sizeAt(slot: number): number {
    return this.#sizes[slot];
  }

  /** Every known chunk's hash, in slot order. */
  *hashes(): IterableIterator<string> {
    for (let slot = 0; slot < this.#sizes.length; slot++) if (this.#inUse[slot] === 1) yield this.#index.hashAt(slot);
  }

  /** Holders of a chunk, sorted by node id. */
  replicasOf(hash: string): ReplicaRow[] {
    const slot = this.#index.get(hash);
    if (slot < 0) return [];
    const rows: ReplicaRow[] = [];
    for (let i = 0; i < this.#holders.length(slot); i++) rows.push(this.#row(slot, i, hash));
    return rows.sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
  }

  holderIds(hash: string): string[] {
    return this.replicasOf(hash).map((r) => r.node_id);
  }

  get(key: string): ReplicaRow | undefined {
    const [hash, node] = splitKey(key);
    const slot = this.#index.get(hash);
    const at = slot < 0 ? -1 : this.#find(slot, node);
    return at < 0 ? undefined : this.#row(slot, at, hash);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  pendingBytes(nodeId: string): number {
    return this.#pending.get(nodeId) ?? 0;
  }

  /**
   * Chunks of live files held by fewer counted nodes than `factorOf(files)` asks for.
   * One pass over the slots, no row objects: cheap enough for a metrics scrape.
   */
  countUnderReplicated(counts: (nodeId: string) => boolean, factorOf: (files: string | readonly string[]) => number): number {
    const counted = this.#nodeIds.map(counts);
    let under = 0;
    for (let slot = 0; slot < this.#files.length; slot++) {
      const files = this.#files[slot];
      if (files === null) continue;
      const want = factorOf(files);
      const holders = this.#holders.length(slot);
      let have = 0;
      for (let i = 0; i < holders && have < want; i++) if (counted[this.#holders.at(slot, i) >> 1]) have++;
      if (have < want) under++;
    }
    return under;
  }

  /**
   * Register that `fileId` holds the chunk. Returns the chunk's slot (kept while the file
   * holds it: see `hashAt`, `sizeAt`), or -1, registering nothing, if the size disagrees with an earlier one.
   */
  addFile(hash: string, size: number, fileId: string): number {
    return this.#addFileAt(this.#slot(hash, size), size, fileId);
  }

  /**
   * Bulk load: `addFile` for the chunk whose hash is the lowercase hex of the 32 bytes at
   * `bytes[offset …]` (see `ChunkIndex.addBytes`).
   */
  loadFileChunk(bytes: Uint8Array, offset: number, size: number, fileId: string): number {
    return this.#addFileAt(this.#checkSize(this.#slotOfBytes(bytes, offset, size), size), size, fileId);
  }

  /** Bulk load: `addFile`, but a size that disagrees with an earlier row's fails the load (see `#checkSize`). */
  loadFile(hash: string, size: number, fileId: string): number {
    return this.#addFileAt(this.#checkSize(this.#slot(hash, size), size), size, fileId);
  }

  /**
   * `slot`, if the chunk there has `size`; else the database is damaged (the model never
   * lets two rows disagree on a chunk's size) and the load fails. Files and replicas load
   * interleaved, so which row came first must not decide what loads.
   */
  #checkSize(slot: number, size: number): number {
    if (this.#sizes[slot] !== size) {
      throw new Error(`damaged database: chunk ${this.#index.hashAt(slot)} has size ${size} in one row, ${this.#sizes[slot]} in another`);
    }
    return slot;
  }

  #addFileAt(slot: number, size: number, fileId: string): number {
    if (this.#sizes[slot] !== size) return -1;
    const files = this.#files[slot];
    if (files === null) {
      this.#files[slot] = fileId;
      this.#withFiles++;
    } else if (typeof files === 'string') {
      if (files !== fileId) this.#files[slot] = [files, fileId];
    } else if (!files.includes(fileId)) files.push(fileId);
    return slot;
  }

  /** Drop `fileId` from the chunk; returns the number of files still holding it. */
  removeFile(hash: string, fileId: string): number {
    const slot = this.#index.get(hash);
    const files = slot < 0 ? null : this.#files[slot];
    if (files === null) return 0;
    const rest = typeof files === 'string' ? (files === fileId ? [] : [files]) : files.filter((f) => f !== fileId);
    this.#files[slot] = rest.length === 0 ? null : rest.length === 1 ? rest[0] : rest;
    if (rest.length === 0) {
      this.#withFiles--;
      this.#dropIfEmpty(slot);
    }
    return rest.length;
  }

  /** Whether some live file holds the chunk. */
  hasFiles(hash: string): boolean {
    const slot = this.#index.get(hash);
    return slot >= 0 && this.#files[slot] !== null;
  }

  filesOf(hash: string): readonly string[] {
    const slot = this.#index.get(hash);
    const files = slot < 0 ? null : this.#files[slot];
    return files === null ? [] : typeof files === 'string' ? [files] : files;
  }

  setReplica(hash: string, nodeId: string, state: ReplicaState, size: number): void {
    const slot = this.#slot(hash, size);
    const at = this.#find(slot, nodeId);
    const n = this.#number(nodeId);
    const code = n * 2 + (state === 'stored' ? STORED : PENDING);
    if (at >= 0) {
      const old = this.#row(slot, at, hash);
      this.#checksum ^= rowHash(this.name, `${hash}|${nodeId}`, old);
      this.#adjustPending(old, -1);
      this.#holders.set(slot, at, code);
    } else {
      this.#holders.push(slot, code);
      this.#replicas++;
    }
    const row: ReplicaRow = { chunk_hash: hash, node_id: nodeId, state, size: this.#sizes[slot] };
    this.#checksum ^= rowHash(this.name, `${hash}|${nodeId}`, row);
    this.#adjustPending(row, 1);
    this.#changes.note(`${hash}|${nodeId}`, at >= 0);
  }

  deleteReplica(hash: string, nodeId: string): boolean {
    const slot = this.#index.get(hash);
    const at = slot < 0 ? -1 : this.#find(slot, nodeId);
    if (at < 0) return false;
    const old = this.#row(slot, at, hash);
    this.#checksum ^= rowHash(this.name, `${hash}|${nodeId}`, old);
    this.#adjustPending(old, -1);
    this.#holders.removeAt(slot, at);
    this.#replicas--;
    this.#changes.note(`${hash}|${nodeId}`, true);
    this.#dropIfEmpty(slot);
    return true;
  }

  /** The rows to insert and the stored keys to delete since the last call (see change-set.ts). */
  takeChanges(): TableChangeList<ReplicaRow> {
    return this.#changes.take((key) => this.get(key));
  }

  /** Bulk load, step 1 (a fresh table): node ids in the order of the numbers `loadHolders` uses. */
  loadNodeIds(ids: readonly string[]): void {
    if (this.#nodeIds.length > 0 || this.#index.size > 0) throw new Error('loadNodeIds needs an empty chunk table');
    for (const id of ids) this.#number(id);
  }

  /**
   * Bulk load, step 2: `count` holders of a chunk, as codes (node number × 2 + state,
   * 1 = stored) at `codes[from …]`; nothing is hashed or marked changed.
   */
  loadHolders(hash: string, size: number, codes: readonly number[], from: number, count: number): void {
    this.#checkLoaded(size, codes, from, count);
    this.#loadHoldersAt(this.#checkSize(this.#slot(hash, size), size), codes, from, count);
  }

  /** `loadHolders` for the chunk whose hash is the lowercase hex of the 32 bytes at `bytes[offset …]`. */
  loadHoldersOfBytes(bytes: Uint8Array, offset: number, size: number, codes: readonly number[], from: number, count: number): void {
    this.#checkLoaded(size, codes, from, count);
    this.#loadHoldersAt(this.#checkSize(this.#slotOfBytes(bytes, offset, size), size), codes, from, count);
  }

  /** Refuse what a damaged database could hand a bulk load: a size no row has, a holder code that names no node. */
  #checkLoaded(size: number, codes: readonly number[], from: number, count: number): void {
    if (!isChunkSize(size)) throw new Error(`damaged replicas: a chunk size of ${size}`);
    for (let i = from; i < from + count; i++) {
      if (!Number.isInteger(codes[i]) || codes[i] < 0 || codes[i] >>> 1 >= this.#nodeIds.length) {
        throw new Error(`damaged replicas: holder code ${codes[i]} names no node`);
      }
    }
  }

  #loadHoldersAt(slot: number, codes: readonly number[], from: number, count: number): void {
    for (let i = from; i < from + count; i++) this.#holders.push(slot, codes[i]);
    this.#replicas += count;
  }

  /** Bulk load, step 3: every node's pending bytes, from the loaded holders. */
  finishLoad(): void {
    const pending = new Float64Array(this.#nodeIds.length);
    for (let slot = 0; slot < this.#sizes.length; slot++) {
      for (let i = 0; i < this.#holders.length(slot); i++) {
        const code = this.#holders.at(slot, i);
        if ((code & 1) === PENDING) pending[code >> 1] += this.#sizes[slot];
      }
    }
    this.#pending.clear();
    pending.forEach((bytes, n) => { if (bytes !== 0) this.#pending.set(this.#nodeIds[n], bytes); });
  }

  /** Take `checksum` as the hash of the loaded rows (nothing is hashed while loading). */
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
    for (let slot = 0; slot < this.#sizes.length; slot++) {
      if (this.#inUse[slot] === 0) continue;
      const hash = this.#index.hashAt(slot);
      for (let i = 0; i < this.#holders.length(slot); i++) {
        const row = this.#row(slot, i, hash);
        yield [`${hash}|${row.node_id}`, row];
      }
    }
  }

  *values(): IterableIterator<ReplicaRow> {
    for (const [, row] of this.entries()) yield row;
  }

  /** The chunk's slot, taking a free one (or a new one) for a new hash. */
  #slot(hash: string, size: number): number {
    let slot = this.#index.get(hash);
    if (slot < 0) {
      slot = this.#takeSlot(size);
      this.#index.set(hash, slot);
    }
    return slot;
  }

  /** `#slot` for the hash whose 32 bytes are at `bytes[offset …]`. */
  #slotOfBytes(bytes: Uint8Array, offset: number, size: number): number {
    // The slot `#takeSlot` gives next, made usable in the index first.
    const next = this.#free.length > 0 ? this.#free[this.#free.length - 1] : this.#sizes.length;
    this.#index.reserve(next + 1);
    const slot = this.#index.addBytes(bytes, offset, next);
    if (slot === next && this.#takeSlot(size) !== next) throw new Error('chunk table: the slot taken is not the one the index was given');
    return slot;
  }

  /** A free slot (or a new one) in use for a chunk of `size` bytes, not yet in the index. */
  #takeSlot(size: number): number {
    let slot = this.#free.pop() ?? -1;
    if (slot < 0) {
      slot = this.#sizes.length;
      this.#sizes.push(size);
      this.#files.push(null);
      this.#holders.reserve(slot + 1);
      this.#index.reserve(slot + 1);
      this.#reserveInUse(slot + 1);
    } else {
      this.#sizes[slot] = size;
    }
    this.#inUse[slot] = 1;
    return slot;
  }

  #reserveInUse(slots: number): void {
    if (slots <= this.#inUse.length) return;
    const inUse = new Uint8Array(Math.max(16, slots, Math.ceil(this.#inUse.length * 1.5)));
    inUse.set(this.#inUse);
    this.#inUse = inUse;
  }

  #dropIfEmpty(slot: number): void {
    if (this.#files[slot] !== null || this.#holders.length(slot) > 0) return;
    this.#index.delete(slot);
    this.#inUse[slot] = 0;
    this.#sizes[slot] = 0;
    this.#holders.clear(slot);
    this.#free.push(slot);
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

  /** Index of the node's holder code in the slot's list, or -1. */
  #find(slot: number, nodeId: string): number {
    const n = this.#nodeNumbers.get(nodeId);
    if (n === undefined) return -1;
    for (let i = 0; i < this.#holders.length(slot); i++) if (this.#holders.at(slot, i) >> 1 === n) return i;
    return -1;
  }

  /** The holder's row; `hash` is the slot's chunk hash. */
  #row(slot: number, at: number, hash: string): ReplicaRow {
    const code = this.#holders.at(slot, at);
    const state: ReplicaState = (code & 1) === STORED ? 'stored' : 'pending';
    return { chunk_hash: hash, node_id: this.#nodeIds[code >> 1], state, size: this.#sizes[slot] };
  }

  #adjustPending(row: ReplicaRow, sign: 1 | -1): void {
    if (row.state !== 'pending') return;
    const next = (this.#pending.get(row.node_id) ?? 0) + sign * row.size;
    if (next === 0) this.#pending.delete(row.node_id);
    else this.#pending.set(row.node_id, next);
    this.hooks.pendingChanged?.(row.node_id);
  }
}

function splitKey(key: string): [string, string] {
  const bar = key.lastIndexOf('|');
  return [key.slice(0, bar), key.slice(bar + 1)];
}
