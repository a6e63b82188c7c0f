// Follower side: AppendEntries (paper §5.3), heartbeats, snapshot install (fig. 13),
// and the requests a follower forwards or answers.

import { campaign } from './election.js';
import { type NodeState, promotable, send } from './node-state.js';
import type { AppendMessage, AppendResponseMessage, HeartbeatMessage, Message, NodeId, SnapshotMessage } from './types.js';

export function stepFollower(n: NodeState, message: Message): void {
  switch (message.type) {
    case 'append':
      heardFromLeader(n, message.from, message.commit);
      handleAppend(n, message);
      return;
    case 'heartbeat':
      heardFromLeader(n, message.from, message.commit);
      handleHeartbeat(n, message);
      return;
    case 'snapshot':
      heardFromLeader(n, message.from, message.snapshot.index);
      handleSnapshot(n, message);
      return;
    case 'timeoutNow':
      // Thesis §3.10: the leader asked us to take over; skip PreVote and ignore leases.
      if (promotable(n)) campaign(n, 'transfer');
      return;
    case 'transferLeader':
      if (n.leader !== null) send(n, { type: 'transferLeader', to: n.leader, term: n.term, target: message.target });
      return;
    case 'readIndexResponse':
      if (!message.reject) n.readStates.push({ index: message.index, context: message.context });
      return;
    default:
      return;
  }
}

/** `leader` of this term sent an append, heartbeat or snapshot announcing `commit` (for a snapshot, its index: committed at the leader). */
export function heardFromLeader(n: NodeState, leader: NodeId, commit: number): void {
  n.electionElapsed = 0;
  n.ticksSinceLeader = 0;
  n.leader = leader;
  n.leaderCommit = Math.max(n.leaderCommit, commit);
}

export function handleAppend(n: NodeState, message: AppendMessage): void {
  const respond = (fields: Pick<AppendResponseMessage, 'index' | 'reject' | 'hintIndex' | 'hintTerm'>) =>
    send(n, { type: 'appendResponse', to: message.from, term: n.term, ...fields });
  if (message.prevIndex < n.log.committed) {
    respond({ index: n.log.committed, reject: false, hintIndex: 0, hintTerm: 0 });
    return;
  }
  if (n.log.matchTerm(message.prevIndex, message.prevTerm)) {
    n.log.mergeAfter(message.prevIndex, message.entries);
    const lastNew = message.prevIndex + message.entries.length;
    n.log.commitTo(Math.min(message.commit, lastNew));
    respond({ index: lastNew, reject: false, hintIndex: 0, hintTerm: 0 });
    return;
  }
  // Fast back-tracking: our last index whose term ≤ the leader's prevTerm.
  const hintIndex = n.log.lastIndexWithTermAtMost(Math.min(message.prevIndex, n.log.lastIndex()), message.prevTerm);
  respond({ index: message.prevIndex, reject: true, hintIndex, hintTerm: n.log.term(hintIndex) ?? 0 });
}

export function handleHeartbeat(n: NodeState, message: HeartbeatMessage): void {
  n.log.commitTo(Math.min(message.commit, n.log.lastIndex()));
  send(n, { type: 'heartbeatResponse', to: message.from, term: n.term, context: message.context });
}

export function handleSnapshot(n: NodeState, message: SnapshotMessage): void {
  const meta = message.snapshot;
  const respond = (index: number) =>
    send(n, { type: 'appendResponse', to: message.from, term: n.term, index, reject: false, hintIndex: 0, hintTerm: 0 });
  if (meta.index <= n.log.committed) {
    respond(n.log.committed);
    return;
  }
  if (n.log.matchTerm(meta.index, meta.term)) {
    // We already hold the snapshot's last entry: just fast-forward the commit.
    n.log.commitTo(meta.index);
    respond(meta.index);
    return;
  }
  // Paper fig. 13 rule 7: discard the whole log and adopt the snapshot (hashicorp/raft#697).
  n.log.restore(meta.index, meta.term);
  n.snapshot = meta;
  n.snapshotToInstall = meta;
  n.confs.reset(meta.confState);
  respond(meta.index);
}
