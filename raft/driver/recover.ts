// Start-up: reconcile the WAL, the newest snapshot file and the state machine's
// durable index into the InitialState the core starts from.
//
// Cases handled:
// - a snapshot file newer than the WAL's snapshot marker (crash between
//   committing the snapshot file and compacting the log, or a received snapshot
//   not yet recorded in the WAL): use it;
// - the state machine is behind the newest snapshot (crash during install):
//   restore the state machine from the snapshot file first;
// - the WAL's entries do not continue the snapshot (paper fig. 13 rule 7):
//   discard them, the leader will resend.

import type { Logger } from 'pino';
import type { InitialState } from '../core/api.js';
import type { ConfState, Entry, HardState, SnapshotMeta } from '../core/types.js';
import type { StateMachine } from '../state-machine.js';

export interface RecoveryInput {
  readonly log: { hardState: HardState; snapshot: SnapshotMeta | null; entries: readonly Entry[] };
  readonly latestSnapshot: { meta: SnapshotMeta; path: string } | null;
  readonly stateMachine: StateMachine;
  readonly bootstrap: ConfState;
  readonly logger: Logger;
}

export class RecoveryError extends Error {
  readonly code = 'CONCORD_ERR_STORAGE_CORRUPT';
}

function newer(a: SnapshotMeta | null, b: SnapshotMeta | null): SnapshotMeta | null {
  if (a === null) return b;
  if (b === null) return a;
  return b.index > a.index ? b : a;
}

export async function recoverInitialState(input: RecoveryInput): Promise<InitialState> {
  const { log, latestSnapshot, stateMachine, logger } = input;
  const snapshot = newer(log.snapshot, latestSnapshot?.meta ?? null);
  if (snapshot !== null && stateMachine.durableIndex() < snapshot.index) {
    if (latestSnapshot === null || latestSnapshot.meta.index !== snapshot.index) {
      throw new RecoveryError(`the log starts after index ${snapshot.index} but no snapshot file holds it ` +
        `and the state machine is only durable to ${stateMachine.durableIndex()}`);
    }
    logger.info({ index: snapshot.index }, 'restoring state machine from snapshot file');
    await stateMachine.restoreSnapshot(latestSnapshot.path, snapshot.index);
  }
  const entries = entriesAfter(log.entries, snapshot, logger);
  const lastIndex = entries.length > 0 ? entries[entries.length - 1].index : (snapshot?.index ?? 0);
  const applied = stateMachine.appliedIndex();
  if (applied > lastIndex) {
    throw new RecoveryError(`state machine applied ${applied} but the log and snapshot end at ${lastIndex}`);
  }
  // Everything applied or covered by a snapshot was committed (etcd#10166 guard: commit ≤ last index).
  const commit = Math.max(log.hardState.commit, applied, snapshot?.index ?? 0);
  if (commit > lastIndex) {
    throw new RecoveryError(`hard state commit ${commit} is beyond the last log index ${lastIndex}`);
  }
  return {
    hardState: { ...log.hardState, commit },
    snapshot,
    entries,
    bootstrapConfState: input.bootstrap,
    applied,
  };
}

function entriesAfter(entries: readonly Entry[], snapshot: SnapshotMeta | null, logger: Logger): Entry[] {
  if (snapshot === null) return [...entries];
  const at = entries.find((e) => e.index === snapshot.index);
  const continues = at !== undefined ? at.term === snapshot.term : entries.length === 0 || entries[0].index === snapshot.index + 1;
  if (!continues) {
    logger.warn({ snapshotIndex: snapshot.index, snapshotTerm: snapshot.term }, 'log does not continue the snapshot; discarding it');
    return [];
  }
  return entries.filter((e) => e.index > snapshot.index);
}
