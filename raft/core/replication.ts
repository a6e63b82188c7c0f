// Sending the log: appends within each follower's flow-control window, snapshots
// when the needed entries were compacted, heartbeats.

import { assert } from './assert.js';
import { type NodeState, send } from './node-state.js';
import { Progress } from './progress.js';
import type { NodeId } from './types.js';

export function broadcastAppend(n: NodeState): void {
  for (const id of n.progress.keys()) if (id !== n.id) sendAppendWhileOpen(n, id);
}

/**
 * Fill `to`'s flow-control window with appends. A follower with appends in flight
 * learns a new commit index from the next append (or heartbeat), so it gets no empty
 * append just to say it: that would cost it and us a wake-up each, for about half of
 * all peer messages under load. With nothing in flight it does get one, so an idle
 * cluster still spreads its commits promptly.
 */
export function sendAppendWhileOpen(n: NodeState, to: NodeId): void {
  const progress = n.progress.get(to);
  const busy = progress !== undefined && progress.state === 'replicate' && progress.inflights.count > 0;
  for (let i = 0; i < n.config.inflightMessagesMax && sendAppend(n, to, busy || i > 0); i++) {
    // keep filling the window while there is something new to send
  }
}

/** Send the next append (or a snapshot) to `to`; returns whether an append with entries went out. */
export function sendAppend(n: NodeState, to: NodeId, onlyWithEntries = false): boolean {
  const progress = n.progress.get(to);
  if (progress === undefined || progress.isPaused()) return false;
  const prevIndex = progress.next - 1;
  const prevTerm = n.log.term(prevIndex);
  const entries = n.log.sliceLimited(progress.next, n.config.appendEntriesMax, n.config.appendBytesMax);
  if (prevTerm === undefined || entries === undefined) {
    sendSnapshot(n, to, progress);
    return false;
  }
  if (onlyWithEntries && entries.length === 0) return false;
  send(n, { type: 'append', to, term: n.term, prevIndex, prevTerm, entries, commit: n.log.committed });
  if (progress.state === 'replicate' && entries.length > 0) {
    const last = entries[entries.length - 1].index;
    progress.next = last + 1;
    progress.inflights.add(last);
  } else if (progress.state === 'probe') {
    progress.probeSent = true;
  }
  return entries.length > 0;
}

export function sendSnapshot(n: NodeState, to: NodeId, progress: Progress): void {
  const snapshot = n.snapshot;
  assert(snapshot !== null, 'log was compacted without a snapshot');
  progress.becomeSnapshot(snapshot.index);
  send(n, { type: 'snapshot', to, term: n.term, snapshot });
}

export function broadcastHeartbeat(n: NodeState, context: string | null): void {
  for (const id of n.progress.keys()) if (id !== n.id) sendHeartbeat(n, id, context);
}

export function sendHeartbeat(n: NodeState, to: NodeId, context: string | null): void {
  const progress = n.progress.get(to);
  if (progress === undefined) return;
  // Never a commit beyond what the follower holds (it could not tell it apart from a conflicting entry).
  send(n, { type: 'heartbeat', to, term: n.term, commit: Math.min(progress.match, n.log.committed), context });
}
