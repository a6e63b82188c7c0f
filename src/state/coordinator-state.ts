// The coordinator state machine for the Raft driver: commands apply to the
// in-memory model; a flusher writes the changes to DuckDB set-wise every
// flushIntervalMs or flushRowsMax rows, together with applied_index, which is the
// durable index the driver never compacts past (with forceSync: after every applied
// batch). Start-up loads the model from DuckDB; the driver replays the log from
// durableIndex() + 1.
import { copyFile, rename, rm, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Entry } from '../../raft/core/types.js';
import type { SnapshotFile, StateMachine } from '../../raft/state-machine.js';
import { applyEntryData } from './apply.js';
import { collectGarbage } from './collect-garbage.js';
import { DEFAULT_LIMITS, type DomainLimits, Model } from './model.js';
import { DuckStore } from './store/duck-store.js';
import { TABLES } from './store/tables.js';

export interface CoordinatorStateOptions {
  readonly dbPath: string;
  readonly memoryLimitMb?: number;
  readonly flushIntervalMs?: number;
  readonly flushRowsMax?: number;
  readonly checksumInterval?: number;
  /** Flush after every applied batch, so durableIndex() equals appliedIndex() when apply() resolves (`--force-sync`). */
  readonly forceSync?: boolean;
  readonly limits?: DomainLimits;
  readonly logger?: Logger;
  /** Called once, with the error, when a flush fails (every later flush fails too: see #flushFailure). */
  readonly onFlushFailure?: (error: Error) => void;
}

/** The error that stops the state after `what` failed: every later flush and read fails with it until a restart. */
function storageFailure(what: string, error: unknown): Error {
  const cause = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(`${what} failed (${cause}); the state takes no more reads or writes until a restart`, { cause: error }),
    { code: 'CONCORD_ERR_STORAGE_IO' });
}

export class CoordinatorState implements StateMachine {
  #model: Model;
  #store: DuckStore;
  #applied: number;
  #flushed: number;
  #flushing: Promise<void> | null = null;
  /**
   * The first failed flush: its changes were taken from the model but never committed, so
   * no later flush may commit (its applied_index would cover the lost rows). Every flush
   * fails from then on; a restart loads the last committed state and replays the log.
   */
  #flushFailure: Error | null = null;
  /** Reads running on the store: a snapshot install or close() waits for them before it closes the store. */
  readonly #readsRunning = new Set<Promise<unknown>>();
  /** close() has begun: no read starts any more. */
  #closed = false;
  /** A snapshot install under way: reads that start meanwhile wait for the new store. */
  #replacing: Promise<void> | null = null;
  /** The model's checksum at #flushed (what the database must hash to). */
  #flushedChecksum: string;
  #timer: NodeJS.Timeout | null = null;
  readonly #flushListeners = new Set<(seconds: number, rows: number) => void>();
  readonly #options: CoordinatorStateOptions;
  readonly checkpoints: { index: number; checksum: string }[] = [];

  private constructor(options: CoordinatorStateOptions, store: DuckStore, model: Model, applied: number) {
    this.#options = options;
    this.#store = store;
    this.#model = model;
    this.#applied = applied;
    this.#flushed = applied;
    this.#flushedChecksum = model.checksum();
    const interval = options.flushIntervalMs ?? 100;
    // A failed flush fails every later one with the same error: logged once.
    let logged: unknown = null;
    this.#timer = setInterval(() => void this.flush().catch((error: unknown) => {
      if (error !== logged) options.logger?.error({ err: error }, 'flush failed');
      logged = error;
    }), interval);
    this.#timer.unref();
  }

  static async open(options: CoordinatorStateOptions): Promise<CoordinatorState> {
    const { store, model, applied } = await CoordinatorState.#load(options);
    const state = new CoordinatorState(options, store, model, applied);
    collectGarbage(); // the load's garbage (see collect-garbage.ts)
    return state;
  }

  static async #load(options: CoordinatorStateOptions): Promise<{ store: DuckStore; model: Model; applied: number }> {
    const store = await DuckStore.open(options.dbPath, options.memoryLimitMb ?? 256);
    try {
      const model = new Model(options.limits ?? DEFAULT_LIMITS);
      await store.load(model);
      model.rebuildIndexes();
      await store.releaseMemory();
      return { store, model, applied: await store.appliedIndex() };
    } catch (error) {
      store.close(); // a database that fails to load is not left open
      throw error;
    }
  }

  /** The flush failure that stops every later flush (see #flushFailure), or null. */
  get flushFailure(): Error | null {
    return this.#flushFailure;
  }

  get model(): Model {
    return this.#model;
  }

  async apply(entries: readonly Entry[]): Promise<readonly unknown[]> {
    const results: unknown[] = [];
    const every = this.#options.checksumInterval ?? 1000;
    for (const entry of entries) {
      if (entry.index <= this.#applied) throw new Error(`entry ${entry.index} applied twice (applied ${this.#applied})`);
      results.push(entry.type === 'normal' && entry.data.length > 0 ? applyEntryData(this.#model, entry.data) : undefined);
      this.#applied = entry.index;
      if (entry.index % every === 0) {
        this.checkpoints.push({ index: entry.index, checksum: this.#model.checksum() });
        if (this.checkpoints.length > 16) this.checkpoints.shift();
      }
    }
    if (this.#options.forceSync === true || this.#pendingRows() >= (this.#options.flushRowsMax ?? 50_000)) await this.flush();
    return results;
  }

  appliedIndex(): number {
    return this.#applied;
  }

  durableIndex(): number {
    return this.#flushed;
  }

  checksum(): { checksum: string; appliedIndex: number } {
    return { checksum: this.#model.checksum(), appliedIndex: this.#applied };
  }

  /**
   * Flush, then hash the database's rows. Flushes wait meanwhile, so the answer is
   * compared with the model's checksum at the same (flushed) index. `storedChecksum`
   * is the one the flusher stored with the rows, which a load takes without hashing
   * them: it equals the model's by construction, so only `checksum` (the rows hashed
   * again) notices rows changed behind the model; `storedChecksum` matters for a backup
   * file, whose rows and stored checksum may disagree.
   */
  async checksumFromDatabase(): Promise<{ checksum: string; storedChecksum: string; modelChecksum: string; flushedIndex: number }> {
    await this.flush();
    while (this.#flushing !== null) await this.#flushing;
    const flushedIndex = this.#flushed;
    const modelChecksum = this.#flushedChecksum;
    let checksum = '';
    let storedChecksum = '';
    this.#flushing = (async () => {
      checksum = await this.#store.checksum();
      storedChecksum = await this.#store.storedChecksum();
    })().finally(() => { this.#flushing = null; });
    await this.#flushing;
    return { checksum, storedChecksum, modelChecksum, flushedIndex };
  }

  #pendingRows(): number {
    return TABLES.reduce((n, spec) => n + spec.table(this.#model).changeCount, 0);
  }

  /** Write everything applied so far to DuckDB (one transaction). */
  async flush(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
    if (this.#flushFailure !== null) throw this.#flushFailure;
    if (this.#applied === this.#flushed && this.#pendingRows() === 0) return;
    const index = this.#applied;
    const changes = TABLES.map((spec) => {
      const table = spec.table(this.#model);
      return { spec, ...table.takeChanges(), checksum: table.checksum };
    });
    const checksum = this.#model.checksum();
    const startedAt = performance.now();
    this.#flushing = this.#store.write(changes, index, this.#model.replicas.knownChunks).then((rows) => {
      this.#flushed = index;
      this.#flushedChecksum = checksum;
      const seconds = (performance.now() - startedAt) / 1000;
      for (const listener of this.#flushListeners) listener(seconds, rows);
    }, (error: unknown) => {
      this.#flushFailure = storageFailure('writing the state to DuckDB', error);
      this.#options.onFlushFailure?.(this.#flushFailure);
      throw this.#flushFailure;
    }).finally(() => { this.#flushing = null; });
    await this.#flushing;
  }

  /** `listener` hears of every flush: the DuckDB write's duration in seconds and the rows it wrote or deleted. Returns the unsubscribe. */
  onFlush(listener: (seconds: number, rows: number) => void): () => void {
    this.#flushListeners.add(listener);
    return () => this.#flushListeners.delete(listener);
  }

  /** A copy of the database at the flushed index, taken under the flush lock (the driver runs it beside apply). */
  async createSnapshot(path: string): Promise<SnapshotFile> {
    const { index, bytes } = await this.copyDatabase(path);
    return { index, path, bytes };
  }

  /**
   * For backups: flush, then CHECKPOINT and copy the database file to `path` while
   * holding the flush lock, so no flush touches the file during the copy. Applying
   * goes on meanwhile (in memory); only flushes wait for the copy.
   * Returns the flushed index the copy holds and the model's checksum at it.
   */
  async copyDatabase(path: string): Promise<{ index: number; checksum: string; bytes: number }> {
    await this.flush();
    while (this.#flushing !== null) await this.#flushing;
    const index = this.#flushed;
    const checksum = this.#flushedChecksum;
    this.#flushing = (async () => {
      await this.#store.checkpoint();
      await copyFile(this.#options.dbPath, path);
    })().finally(() => { this.#flushing = null; });
    await this.#flushing;
    return { index, checksum, bytes: (await stat(path)).size };
  }

  /**
   * Replace the database and the model with the snapshot's, holding the flush lock
   * throughout (no timer flush meets the closed store). The file is copied in first; then
   * reads that start wait for the new store, and those already running finish on the old
   * one before it closes. A failure after the old store closed leaves no usable state:
   * like a failed flush, it fails every later flush and read until a restart.
   */
  async restoreSnapshot(path: string, index: number): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
    this.#flushing = this.#install(path, index).finally(() => { this.#flushing = null; });
    await this.#flushing;
  }

  async #install(path: string, index: number): Promise<void> {
    const temp = `${this.#options.dbPath}.restore`;
    try {
      await copyFile(path, temp);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const replacing = this.#readsDone().then(() => this.#replaceWith(temp, index));
    this.#replacing = replacing.then(() => undefined, () => undefined).finally(() => { this.#replacing = null; });
    try {
      await replacing;
    } catch (error) {
      await rm(temp, { force: true });
      this.#flushFailure = storageFailure('installing a snapshot', error);
      throw this.#flushFailure;
    }
  }

  async #readsDone(): Promise<void> {
    while (this.#readsRunning.size > 0) await Promise.allSettled([...this.#readsRunning]);
  }

  /** Close the old store and put the copied snapshot file (`temp`) in its place. */
  async #replaceWith(temp: string, index: number): Promise<void> {
    this.#store.close();
    // A write-ahead file of the old database must not be replayed onto the new one.
    await rm(`${this.#options.dbPath}.wal`, { force: true });
    await rename(temp, this.#options.dbPath);
    const { store, model, applied } = await CoordinatorState.#load(this.#options);
    if (applied !== index) {
      store.close(); // not left open beside the state's own (closed) store
      throw new Error(`snapshot file holds applied index ${applied}, expected ${index}`);
    }
    this.#store = store;
    this.#model = model;
    this.#applied = applied;
    this.#flushed = applied;
    this.#flushedChecksum = model.checksum();
    collectGarbage(); // the load's garbage and the model it replaced (see collect-garbage.ts)
  }

  /** SQL on the flushed state; waits for a snapshot install under way, which waits for reads already running. */
  async query(sql: string, values?: Record<string, string>): Promise<Record<string, unknown>[]> {
    while (this.#replacing !== null) await this.#replacing;
    if (this.#flushFailure !== null) throw this.#flushFailure;
    if (this.#closed) throw new Error('the state is closed');
    const read = this.#store.query(sql, values);
    this.#readsRunning.add(read);
    try {
      return await read;
    } finally {
      this.#readsRunning.delete(read);
    }
  }

  /** Flush, then close the store once running reads and flush-lock holders are done; no read starts after the flush. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      while (this.#readsRunning.size > 0 || this.#flushing !== null) {
        await this.#readsDone();
        if (this.#flushing !== null) await this.#flushing.catch(() => undefined);
      }
      this.#store.close();
    }
  }
}
