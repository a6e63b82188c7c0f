// Role transitions (etcd's becomeFollower/PreCandidate/Candidate/Leader): each
// resets exactly the state its role owns. Illegal transitions throw.

import { assert } from './assert.js';
import { rejectRead } from './leader-reads.js';
import { appendEntry } from './leader.js';
import { type NodeState, resetElectionTimer } from './node-state.js';
import { Progress } from './progress.js';
import type { NodeId } from './types.js';

const EMPTY = new Uint8Array(0);

export function becomeFollower(n: NodeState, term: number, leader: NodeId | null): void {
  if (n.role === 'leader') abandonLeadership(n);
  if (term !== n.term) {
    assert(term > n.term, () => `term moved backwards ${n.term} -> ${term}`);
    n.term = term;
    n.vote = null;
    n.leaderCommit = 0;
  }
  n.role = 'follower';
  n.leader = leader;
  resetElectionTimer(n);
}

export function becomePreCandidate(n: NodeState): void {
  assert(n.role !== 'leader', 'a leader cannot become pre-candidate');
  n.ticksSinceLeader = Math.max(n.ticksSinceLeader, n.config.electionTicksMin);
  // etcd#8334: a pre-candidate forgets its leader, else a lease check could keep the cluster leaderless.
  n.role = 'preCandidate';
  n.leader = null;
  n.votes = new Map([[n.id, true]]);
  resetElectionTimer(n);
}

export function becomeCandidate(n: NodeState): void {
  assert(n.role !== 'leader', 'a leader cannot become candidate');
  n.ticksSinceLeader = Math.max(n.ticksSinceLeader, n.config.electionTicksMin);
  n.term += 1;
  n.vote = n.id;
  n.leaderCommit = 0;
  n.role = 'candidate';
  n.leader = null;
  n.votes = new Map([[n.id, true]]);
  resetElectionTimer(n);
}

export function becomeLeader(n: NodeState): void {
  assert(n.role === 'candidate', 'only a candidate becomes leader');
  assert(n.ledTerm < n.term, () => `already led term ${n.term}`);
  n.ledTerm = n.term;
  n.role = 'leader';
  n.leader = n.id;
  n.transferee = null;
  n.readQuorumPeers = [];
  n.stallTicks = 0;
  n.heartbeatElapsed = 0;
  n.electionElapsed = 0;
  n.progress = new Map();
  const conf = n.confs.current();
  for (const id of [...conf.voters, ...conf.learners]) addProgress(n, id, conf.learners.includes(id));
  // Conservative: no membership change until everything before this term is applied.
  n.pendingConfIndex = n.log.lastIndex();
  // §5.4.2 / §8: commit a no-op of our own term so earlier entries commit and reads are safe.
  appendEntry(n, 'normal', EMPTY);
}

export function abandonLeadership(n: NodeState): void {
  for (const request of n.readOnly.drain()) rejectRead(n, request.context, request.from);
  for (const request of n.pendingReads) rejectRead(n, request.context, request.from);
  n.pendingReads = [];
  n.readQuorumPeers = [];
  n.progress = new Map();
  n.transferee = null;
}

export function addProgress(n: NodeState, id: NodeId, learner: boolean): void {
  const progress = new Progress(n.log.lastIndex() + 1, n.config.inflightMessagesMax, learner);
  if (id === n.id) {
    progress.match = n.log.persisted;
    progress.recentActive = true;
  }
  n.progress.set(id, progress);
}
