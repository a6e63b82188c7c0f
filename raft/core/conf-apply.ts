// Applying committed entries: membership changes take effect when applied (thesis
// §4.1); the leader updates its progress set or steps down when removed.

import { decodeConfChange } from './conf-codec.js';
import { maybeCommit } from './leader.js';
import { applyConfChange, confChangeProblem, isMember } from './membership.js';
import { type NodeState } from './node-state.js';
import { broadcastAppend } from './replication.js';
import { addProgress, becomeFollower } from './roles.js';
import type { ConfChange, Entry, NodeId } from './types.js';

export function applyCommitted(n: NodeState, through: number): void {
  if (through <= n.log.applied) return;
  for (const entry of n.log.slice(n.log.applied + 1, through + 1) ?? []) {
    n.log.applied = entry.index;
    applyConfEntry(n, entry);
  }
  n.log.applied = through;
}

export function applyConfEntry(n: NodeState, entry: Entry): void {
  if (entry.type !== 'confChange') return;
  let change: ConfChange;
  try {
    change = decodeConfChange(entry.data);
  } catch {
    return; // Undecodable entries are ignored identically on every replica.
  }
  const conf = n.confs.current();
  if (confChangeProblem(conf, change) !== null) return;
  const next = applyConfChange(conf, change);
  n.confs.record(entry.index, next);
  if (n.role === 'leader') leaderConfChanged(n, change, next);
}

export function leaderConfChanged(n: NodeState, change: ConfChange, next: { voters: readonly NodeId[]; learners: readonly NodeId[] }): void {
  if (!isMember(next, n.id) || (change.type === 'remove' && change.node === n.id)) {
    // etcd#11038: a leader that removed itself steps down instead of heartbeating on.
    becomeFollower(n, n.term, null);
    return;
  }
  if (change.type === 'addLearner') addProgress(n, change.node, true);
  else if (change.type === 'promote') {
    const p = n.progress.get(change.node);
    if (p !== undefined) p.learner = false;
  } else {
    n.progress.delete(change.node);
    if (n.transferee === change.node) n.transferee = null;
  }
  if (maybeCommit(n)) broadcastAppend(n);
}
