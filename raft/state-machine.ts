// The contract between the Raft driver (raft/server.ts) and whatever it replicates.
// The coordinator (src/state) implements it on DuckDB; tests use a small map.

import type { Entry } from './core/types.js';

export interface SnapshotFile {
  /** Applied index the snapshot file reflects. */
  readonly index: number;
  /** Absolute path of the file written. */
  readonly path: string;
  /** Size in bytes. */
  readonly bytes: number;
}

export interface StateMachine {
  /**
   * Apply committed entries in index order, exactly once each. Every entry
   * advances the applied index, including leader no-ops (empty `normal` data)
   * and `confChange` entries, whose content the state machine ignores.
   * Returns one result per entry (undefined for no-ops and conf changes).
   * Must be deterministic: same state + same entry ⇒ same result and state.
   */
  apply(entries: readonly Entry[]): Promise<readonly unknown[]>;
  /** Highest index applied (in memory). */
  appliedIndex(): number;
  /**
   * Highest index whose effects are durable on disk. The driver never compacts
   * the log past it, so a crash loses nothing: start-up replays from here + 1.
   */
  durableIndex(): number;
  /** Write a consistent snapshot of the current applied state to `path` (a new file). */
  createSnapshot(path: string): Promise<SnapshotFile>;
  /** Replace the whole state with the snapshot at `path` (taken at `index`) atomically. */
  restoreSnapshot(path: string, index: number): Promise<void>;
  /** Flush and release resources. */
  close(): Promise<void>;
}
