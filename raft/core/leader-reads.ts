// ReadIndex on the leader (thesis §6.4): reads wait for an entry of the current term
// to commit, then are confirmed by a heartbeat round before answering, unless the
// follower that asked makes a majority with us (see handleReadIndex).

import { type NodeState, send } from './node-state.js';
import { hasQuorum } from './quorum.js';
import { broadcastHeartbeat, sendHeartbeat } from './replication.js';
import type { NodeId } from './types.js';

/** Reads queued on a new leader until it commits an entry of its term, and reads awaiting confirmation. */
export const PENDING_READS_MAX = 4096;

export function answerRead(n: NodeState, context: string, from: NodeId, index: number): void {
  if (from === n.id) n.readStates.push({ index, context });
  else send(n, { type: 'readIndexResponse', to: from, term: n.term, context, index, reject: false });
}

/** Returns true when the read joined the heartbeat-confirmed queue (caller broadcasts). */
export function handleReadIndex(n: NodeState, context: string, from: NodeId, broadcast = true): boolean {
  if (!committedInCurrentTerm(n)) {
    // Thesis §6.4 step 1 (RedisLabs/redisraft#19): no read index before our no-op commits.
    queueRead(n, context, from);
    return false;
  }
  const voters = n.confs.current().voters;
  if (voters.length === 1 && voters[0] === n.id) {
    answerRead(n, context, from, n.log.committed);
    return false;
  }
  if (from !== n.id && hasQuorum(voters, new Set([n.id, from]))) {
    // A follower's request confirms us for the reads it carries: it was sent in our term
    // after they arrived, so no newer leader had a majority before they began (a newer
    // term's majority needs the requester, who was still in ours, or us). With that
    // majority (3 voters) the commit index answers at once, without a heartbeat round.
    answerRead(n, context, from, n.log.committed);
    return false;
  }
  if (n.readOnly.size >= PENDING_READS_MAX) {
    rejectRead(n, context, from);
    return false;
  }
  n.readOnly.add(context, from, n.log.committed, n.id);
  if (broadcast) heartbeatForRead(n, context);
  return true;
}

/**
 * Start a read round for `context` (the newest queued read). Safety needs acks from a
 * majority, not from whoever we ask, so ask only the followers that completed the last
 * round, which with us make a majority. Everyone is asked when there are none yet, when
 * they no longer make a majority (one was removed, or a promotion made the majority
 * larger), or when an older read is still unconfirmed: then one of them may be down or
 * cut off, and the driver asks again only after its round wait, so this round must not
 * depend on them alone. A round they leave unanswered is confirmed by the next periodic
 * heartbeat, which carries the newest read context to everyone (leader.ts).
 */
function heartbeatForRead(n: NodeState, context: string): void {
  const peers = n.readQuorumPeers;
  const voters = n.confs.current().voters;
  if (n.readOnly.size > 1 || peers.length === 0 || !hasQuorum(voters, new Set([n.id, ...peers]))) {
    broadcastHeartbeat(n, context);
    return;
  }
  for (const id of peers) sendHeartbeat(n, id, context);
}

export function queueRead(n: NodeState, context: string, from: NodeId): void {
  if (n.pendingReads.length >= PENDING_READS_MAX) {
    rejectRead(n, context, from);
    return;
  }
  n.pendingReads.push({ context, from });
}

export function committedInCurrentTerm(n: NodeState): boolean {
  return n.log.term(n.log.committed) === n.term;
}

export function releasePendingReads(n: NodeState): void {
  if (n.pendingReads.length === 0 || !committedInCurrentTerm(n)) return;
  const pending = n.pendingReads;
  n.pendingReads = [];
  let queued = false;
  for (const request of pending) queued = handleReadIndex(n, request.context, request.from, false) || queued;
  // One heartbeat round confirms the whole batch (its last context acks every earlier read).
  if (queued) heartbeatForRead(n, n.readOnly.lastContext()!);
}

export function rejectRead(n: NodeState, context: string, from: NodeId): void {
  if (from !== n.id) send(n, { type: 'readIndexResponse', to: from, term: n.term, context, index: 0, reject: true });
}
