// Elections: randomized timeouts, PreVote (thesis §9.6), votes (paper §5.2, §5.4.1),
// leader leases under CheckQuorum (thesis §4.2.3) and the shared term checks.

import { stepFollower } from './follower.js';
import { type NodeState, promotable, send } from './node-state.js';
import { tallyVotes } from './quorum.js';
import { becomeCandidate, becomeFollower, becomeLeader, becomePreCandidate } from './roles.js';
import type { Message, VoteMessage, VoteResponseMessage } from './types.js';

export type CampaignKind = 'preElection' | 'election' | 'transfer';

export function tickElection(n: NodeState): void {
  n.electionElapsed++;
  n.ticksSinceLeader++;
  // Only a node that may campaign restarts the count. A non-promotable follower (a
  // learner, or a new voter still on a stale configuration) keeps counting, so its
  // leader lease runs out and it can vote for the real voters' candidates again.
  if (!promotable(n) || n.electionElapsed < n.randomizedElectionTimeout) return;
  n.electionElapsed = 0;
  campaign(n, 'preElection');
}

/**
 * preElection: PreVote first (when enabled); election: a real vote (after a won
 * pre-vote); transfer: TimeoutNow, a real vote whose requests override leases.
 * Only `transfer` sets the flag: a won pre-vote must not bypass other voters' leases.
 */
export function campaign(n: NodeState, kind: CampaignKind): void {
  if (!promotable(n)) return;
  const voters = n.confs.current().voters;
  if (n.config.preVote && kind === 'preElection') {
    becomePreCandidate(n);
    if (tallyVotes(voters, n.votes) === 'won') return campaign(n, 'election');
    requestVotes(n, 'preVote', n.term + 1, false);
    return;
  }
  becomeCandidate(n);
  if (tallyVotes(voters, n.votes) === 'won') {
    becomeLeader(n);
    return;
  }
  requestVotes(n, 'vote', n.term, kind === 'transfer');
}

export function requestVotes(n: NodeState, type: 'vote' | 'preVote', term: number, transfer: boolean): void {
  for (const id of n.confs.current().voters) {
    if (id === n.id) continue;
    n.messages.push({
      type, from: n.id, to: id, term, lastIndex: n.log.lastIndex(), lastTerm: n.log.lastTerm(), transfer,
    });
  }
}

/** A message from a higher term arrived; returns false if it must be ignored. */
export function acceptHigherTerm(n: NodeState, message: Message): boolean {
  if (message.type === 'vote' || message.type === 'preVote') {
    const inLease = n.config.checkQuorum && ((n.leader !== null && n.electionElapsed < n.config.electionTicksMin) || heardLeaderRecently(n));
    // Leader lease (thesis §4.2.3): a voter that hears from a live leader ignores disruptive
    // candidates; so does one just restarted, which may have heard from one before it stopped.
    if (inLease && !message.transfer) return false;
  }
  if (message.type === 'preVote') return true;
  if (message.type === 'preVoteResponse' && !message.reject) return true;
  const leader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot'
    ? message.from : null;
  becomeFollower(n, message.term, leader);
  return true;
}

export function answerLowerTerm(n: NodeState, message: Message): void {
  if ((n.config.checkQuorum || n.config.preVote) &&
    (message.type === 'append' || message.type === 'heartbeat')) {
    // A stale leader learns our term and steps down (etcd's answer to a partitioned old leader).
    send(n, { type: 'appendResponse', to: message.from, term: n.term, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
  } else if (message.type === 'preVote') {
    send(n, { type: 'preVoteResponse', to: message.from, term: n.term, reject: true });
  }
}

/** Under CheckQuorum: heard from a leader within electionTicksMin ticks (see NodeState.ticksSinceLeader). */
function heardLeaderRecently(n: NodeState): boolean {
  return n.config.checkQuorum && n.ticksSinceLeader < n.config.electionTicksMin;
}

export function handleVoteRequest(n: NodeState, message: VoteMessage): void {
  const responseType = message.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
  // In this term too: a stray higher-term message may have moved the term and cleared the leader just now.
  const leased = heardLeaderRecently(n) && !message.transfer;
  const canVote = n.vote === message.from ||
    (!leased && n.vote === null && n.leader === null) ||
    (!leased && message.type === 'preVote' && message.term > n.term);
  const grant = canVote && n.log.isUpToDate(message.lastIndex, message.lastTerm);
  if (!grant) {
    send(n, { type: responseType, to: message.from, term: n.term, reject: true });
    return;
  }
  // For a pre-vote the response carries the term the candidate will use.
  send(n, { type: responseType, to: message.from, term: message.term, reject: false });
  if (message.type === 'vote') {
    n.electionElapsed = 0;
    n.vote = message.from;
  }
}

export function stepCandidate(n: NodeState, message: Message): void {
  switch (message.type) {
    case 'append':
    case 'heartbeat':
    case 'snapshot':
      becomeFollower(n, n.term, message.from);
      stepFollower(n, message);
      return;
    case 'voteResponse':
    case 'preVoteResponse':
      handleVoteResponse(n, message);
      return;
    default:
      return;
  }
}

export function handleVoteResponse(n: NodeState, message: VoteResponseMessage): void {
  const expected = n.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
  if (message.type !== expected) return;
  if (n.role === 'preCandidate' && message.term !== n.term + 1 && !message.reject) return;
  n.votes.set(message.from, !message.reject);
  const outcome = tallyVotes(n.confs.current().voters, n.votes);
  if (outcome === 'won') {
    if (n.role === 'preCandidate') campaign(n, 'election');
    else becomeLeader(n);
  } else if (outcome === 'lost') {
    becomeFollower(n, n.term, null);
  }
}
