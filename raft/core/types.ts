// The vocabulary of the Raft core: entries, hard state, membership, messages and
// the Ready batch. Pure data; nothing here does I/O. Indexes and terms are plain
// numbers (safe up to 2^53, far beyond any realistic log).

export type NodeId = string;

/** Entry kinds. A leader's election no-op is a `normal` entry with empty data. */
export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Opaque command bytes for `normal`; the encoded ConfChange for `confChange`. */
  readonly data: Uint8Array;
}

/** Durable per-node state (Raft paper Figure 2 "persistent state", plus commit). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** Cluster membership: voters decide elections and commits; learners only replicate. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * One membership change at a time (thesis §4.1, single-server changes):
 * - addLearner: a new non-voting member that starts catching up;
 * - promote: learner → voter (the caller should wait until it has caught up);
 * - remove: voter or learner leaves. A leader that removes itself steps down
 *   once the removal is applied.
 */
export interface ConfChange {
  readonly type: 'addLearner' | 'promote' | 'remove';
  readonly node: NodeId;
  /** Where the node listens ("host:port"), replicated so every member learns it; opaque to the core. */
  readonly address?: string;
}

/** Describes a snapshot; the bytes live outside the core (the driver streams them). */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
}

/** A read that may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** AppendEntries (paper Figure 2). `entries` may be empty (probe). */
export interface AppendMessage extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Reply to append. On success `index` is the follower's new match index.
 * On reject, `index` echoes the rejected prevIndex and `hintIndex`/`hintTerm`
 * give the fast back-tracking hint (the follower's last index with term ≤ hintTerm).
 */
export interface AppendResponseMessage extends MessageBase {
  readonly type: 'appendResponse';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** Heartbeat carries the commit index (capped at the follower's match) and a read context. */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly context: string | null;
}

export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: 'heartbeatResponse';
  readonly context: string | null;
}

/** RequestVote and PreVote. For PreVote, `term` is the term the sender *would* use. */
export interface VoteMessage extends MessageBase {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** True when campaigning because of TimeoutNow: voters ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponseMessage extends MessageBase {
  readonly type: 'voteResponse' | 'preVoteResponse';
  readonly reject: boolean;
}

/** Leader tells a follower to install a snapshot; the bytes travel beside the message. */
export interface SnapshotMessage extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: SnapshotMeta;
}

/** Leadership transfer: the target campaigns at once (thesis §3.10). */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow';
}

/** A follower (or learner) forwards a transfer request to its leader. */
export interface TransferLeaderMessage extends MessageBase {
  readonly type: 'transferLeader';
  readonly target: NodeId;
}

/** A follower asks the leader for a read index (thesis §6.4). */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'readIndex';
  readonly context: string;
}

export interface ReadIndexResponseMessage extends MessageBase {
  readonly type: 'readIndexResponse';
  readonly context: string;
  readonly index: number;
  /** True when the leader could not serve it (no entry of its term committed yet, stepping down). */
  readonly reject: boolean;
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | TransferLeaderMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage;

export type MessageType = Message['type'];

/**
 * What the driver must do, in this order (etcd's rule: persist before you send):
 * 1. install `snapshot` (if any) and persist `hardState` (if any) and `entries`
 *    (an entry whose index is ≤ the last stored index replaces that suffix), fsync;
 * 2. send `messages`;
 * 3. apply `committedEntries` in order, serve `readStates` once applied ≥ index;
 * 4. call `advance()`.
 * A leader may send `append`, `heartbeat`, `snapshot` and `timeoutNow` messages
 * before step 1 completes (see `mayPrecedePersistence`): the core counts the
 * leader's own log toward commit only after `advance()`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

/** Messages a leader may send before its own write of the same Ready is durable. */
export function mayPrecedePersistence(message: Message): boolean {
  switch (message.type) {
    case 'append':
    case 'heartbeat':
    case 'snapshot':
    case 'timeoutNow':
      return true;
    default:
      return false;
  }
}

/** Why a local request (propose, read, transfer, conf change) was refused. */
export type RefusalReason =
  | 'notLeader'
  | 'transferring'
  | 'confChangePending'
  | 'invalidConfChange'
  | 'tooManyUncommitted'
  | 'invalidTarget'
  | 'noLeader';

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: RefusalReason; readonly leader: NodeId | null };

export type RequestResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: RefusalReason; readonly leader: NodeId | null };

/** A uniform random source in [0, 1): injected so the core stays deterministic. */
export type RandomSource = () => number;
