// The mutable state one Raft node shares between its role modules (election,
// follower, leader, replication, reads, membership). Internal: only RawNode and
// those modules touch it; everyone else goes through RawNodeApi.

import type { InitialState, RaftConfig } from './api.js';
import { assert } from './assert.js';
import { RaftLog } from './log.js';
import { ConfHistory } from './membership.js';
import { Progress } from './progress.js';
import { ReadOnlyQueue } from './read-only.js';
import type { HardState, Message, NodeId, ReadState, Role, SnapshotMeta, SoftState } from './types.js';

export type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/**
 * Invariants: term never decreases; at most one vote per term; this node leads a
 * term at most once (ledTerm); progress is non-empty only while role is leader.
 */
export class NodeState {
  readonly config: RaftConfig;
  readonly id: NodeId;
  readonly log: RaftLog;
  readonly confs: ConfHistory;
  term: number;
  vote: NodeId | null;
  role: Role = 'follower';
  leader: NodeId | null = null;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  votes = new Map<NodeId, boolean>();
  progress = new Map<NodeId, Progress>();
  pendingConfIndex = 0;
  transferee: NodeId | null = null;
  transferElapsed = 0;
  /**
   * Leader: new entries or a higher commit wait to be broadcast. Sending happens once
   * per Ready, so a burst of proposals becomes one append per follower, not one each.
   */
  broadcastPending = false;
  readOnly = new ReadOnlyQueue();
  pendingReads: { context: string; from: NodeId }[] = [];
  /**
   * Leader: the followers whose acknowledgements completed the last confirmed read
   * round, first to answer first. The next round asks only them (with us a majority),
   * not every follower: each heartbeat costs the leader a write and the follower a wake-up.
   */
  readQuorumPeers: NodeId[] = [];
  /** Leader ticks during which its own log had entries the driver had not persisted, without progress. */
  stallTicks = 0;
  snapshot: SnapshotMeta | null;
  snapshotToInstall: SnapshotMeta | null = null;
  messages: Message[] = [];
  readStates: ReadState[] = [];
  /** Highest term this node led (invariant: never leads the same term twice). */
  ledTerm = 0;
  /**
   * The highest commit index this term's leader has announced to this node (an append's
   * or heartbeat's commit, a snapshot's index); 0 until one arrives, and again after a
   * term change. A follower's own commit stops at the end of what it holds, so while it
   * catches up only this says how far behind the cluster it is (`/ready`).
   */
  leaderCommit = 0;
  /**
   * Ticks since this node last heard from a leader (append, heartbeat or snapshot).
   * Under CheckQuorum it grants no (pre)vote but a transfer's while this is below
   * electionTicksMin, whatever else moved its term or cleared its leader meanwhile
   * (a stray higher-term answer does both): a leader's read lease relies on it. Only
   * hearing from a leader resets it; campaigning ends it. Restarted with a term (and
   * restartQuiet), a node starts at 0: before it stopped it may have answered a leader
   * whose lease still runs.
   */
  ticksSinceLeader: number;

  constructor(config: RaftConfig, initial: InitialState) {
    this.config = config;
    this.id = config.id;
    const snapshot = initial.snapshot;
    this.snapshot = snapshot;
    const offset = snapshot?.index ?? (initial.entries.length > 0 ? initial.entries[0].index - 1 : 0);
    assert(offset === 0 || snapshot !== null, 'a log that does not start at 1 needs a snapshot');
    this.log = new RaftLog({
      offset, offsetTerm: snapshot?.term ?? 0, entries: initial.entries,
      committed: Math.max(initial.hardState.commit, offset), applied: Math.max(initial.applied, offset),
    });
    assert(this.log.applied <= this.log.committed, () =>
      `applied ${initial.applied} beyond commit ${initial.hardState.commit}`);
    this.confs = new ConfHistory(snapshot?.confState ?? initial.bootstrapConfState);
    this.term = initial.hardState.term;
    this.vote = initial.hardState.vote;
    this.ticksSinceLeader = config.restartQuiet && this.term > 0 ? 0 : config.electionTicksMin;
    assert(this.term >= this.log.lastTerm(), () => `hard state term ${this.term} below last log term ${this.log.lastTerm()}`);
  }
}

export function send(n: NodeState, message: DistributiveOmit<Message, 'from'>): void {
  n.messages.push({ ...message, from: n.id } as Message);
}

export function hardState(n: NodeState): HardState {
  return { term: n.term, vote: n.vote, commit: n.log.committed };
}

export function softState(n: NodeState): SoftState {
  return { role: n.role, leader: n.leader };
}

export function resetElectionTimer(n: NodeState): void {
  n.electionElapsed = 0;
  n.heartbeatElapsed = 0;
  resetRandomizedTimeout(n);
}

export function resetRandomizedTimeout(n: NodeState): void {
  const { electionTicksMin: min, electionTicksMax: max } = n.config;
  const draw = Math.floor(n.config.random() * (max - min + 1));
  n.randomizedElectionTimeout = min + Math.min(Math.max(draw, 0), max - min);
}

export function promotable(n: NodeState): boolean {
  // A node with a disk that cannot keep up must not lead (see persistStallTicksMax).
  return n.confs.current().voters.includes(n.id) && n.snapshotToInstall === null;
}

/** Always-on checks after every input (cheap: a few comparisons). */
export function assertNodeInvariants(n: NodeState): void {
  n.log.assertInvariants();
  assert(n.log.persisted <= n.log.lastIndex(), () => `persisted ${n.log.persisted} > last ${n.log.lastIndex()}`);
  assert(n.role === 'leader' || n.progress.size === 0, 'only a leader tracks progress');
  assert(n.role !== 'leader' || (n.leader === n.id && n.ledTerm === n.term), 'a leader leads its own term');
  assert(n.vote === null || n.term > 0, 'a vote needs a term');
}
