// The public contract of the pure Raft core (the shape of etcd-io/raft's RawNode).
// `raft/core/node.ts` implements it; the simulator, the scenario tests and the
// driver (`raft/server.ts`) use only this interface.

import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ProposeResult,
  RandomSource,
  Ready,
  RequestResult,
  Role,
  SnapshotMeta,
} from './types.js';

/** Limits and timing of one core. Ticks are abstract; the driver decides how long one is. */
export interface RaftConfig {
  readonly id: NodeId;
  /** Lowest randomized election timeout, in ticks (≥ 2 × heartbeatTicks + 1). */
  readonly electionTicksMin: number;
  /** Election timeout is drawn uniformly from [electionTicksMin, electionTicksMax]. */
  readonly electionTicksMax: number;
  /** Leader heartbeat period, in ticks (≥ 1). */
  readonly heartbeatTicks: number;
  /** PreVote (thesis §9.6): on by default. */
  readonly preVote: boolean;
  /** CheckQuorum (thesis §6.2): on by default; also gives voters a leader lease. */
  readonly checkQuorum: boolean;
  /**
   * With CheckQuorum, a voter restarted with a term ignores candidates for its first
   * electionTicksMin ticks, as if it had just heard from a leader: before it stopped it
   * may have answered one whose read lease (the driver's lease reads) still runs. On by
   * default; off only where nothing relies on leader leases (tests of other rules).
   */
  readonly restartQuiet: boolean;
  /** Append messages in flight to one follower in replicate state. */
  readonly inflightMessagesMax: number;
  /** Entries in one append message. */
  readonly appendEntriesMax: number;
  /** Bytes of entry data in one append message (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Proposals refused (tooManyUncommitted) while this many entries are uncommitted. */
  readonly uncommittedEntriesMax: number;
  /**
   * A leader whose own log write has not completed (no `advance()` covering its
   * last entry) for this many ticks steps down: leadership depends on progress
   * (hashicorp/raft#503). Default: electionTicksMax.
   */
  readonly persistStallTicksMax: number;
  /** Injected randomness for election timeouts. */
  readonly random: RandomSource;
}

/** What a core starts from: what the driver loaded from disk, or a fresh bootstrap. */
export interface InitialState {
  readonly hardState: HardState;
  /** Last snapshot installed or taken; its index is where the in-memory log begins. */
  readonly snapshot: SnapshotMeta | null;
  /** Persisted entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
  /** Membership when there is neither a snapshot nor a conf change in the log (bootstrap). */
  readonly bootstrapConfState: ConfState;
  /** Highest index the state machine has durably applied; apply resumes after it. */
  readonly applied: number;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface PeerProgress {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly learner: boolean;
  /** Heard from since the last CheckQuorum round. */
  readonly recentActive: boolean;
  /** Ticks since this peer last answered (leader only). */
  readonly ticksSinceContact: number;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: number;
  /**
   * How far the cluster has committed, as this node knows it: its own commit on a
   * leader; on another node the highest its leader announced this term, or its own
   * commit if that is higher (see `NodeState.leaderCommit`).
   */
  readonly leaderCommit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly snapshotIndex: number;
  readonly confState: ConfState;
  readonly pendingConfIndex: number;
  readonly transferee: NodeId | null;
  /** Leader only: one entry per other member. */
  readonly progress: readonly PeerProgress[];
}

export interface RawNodeApi {
  /** Advance logical time by one tick. */
  tick(): void;
  /** Feed a message from a peer. Malformed or stale messages are ignored. */
  step(message: Message): void;
  /** Leader only: append a normal entry. */
  propose(data: Uint8Array): ProposeResult;
  /** Leader only: append a membership change (one pending at a time). */
  proposeConfChange(change: ConfChange): ProposeResult;
  /** Ask for a linearizable read point; the answer arrives as a ReadState. */
  readIndex(context: string): RequestResult;
  /** Leader: transfer to `target`; follower: forward the request to the leader. */
  transferLeader(target: NodeId): RequestResult;
  /** Start an election now (tests and tools; respects PreVote). */
  campaign(): void;
  /** The transport could not reach `peer`: go back to probing it. */
  reportUnreachable(peer: NodeId): void;
  /** The transport finished (or failed) streaming a snapshot to `peer`. */
  reportSnapshot(peer: NodeId, ok: boolean): void;
  /** A leader's heartbeats and appends queued since the last ready(), to send while that Ready is still being persisted. */
  takeLeaderMessages(): Message[];
  /** Durable committed entries (and read states) not handed out yet, to apply while a Ready is being written; the next advance() acknowledges them. */
  takeCommitted(): { entries: Entry[]; readStates: Ready['readStates'] };
  /**
   * The driver has a snapshot of the state machine at `index` (≤ applied):
   * remember its meta and drop log entries ≤ index − keepEntries.
   * Returns the meta the driver should store beside the snapshot file.
   */
  compact(index: number, keepEntries: number): SnapshotMeta;
  hasReady(): boolean;
  ready(): Ready;
  /** The driver has done everything the last `ready()` asked for. */
  advance(): void;
  status(): RaftStatus;
  /** Entries in [from, to) still in the in-memory log (for debug endpoints). */
  entries(from: number, to: number): readonly Entry[];
}

export const DEFAULT_RAFT_LIMITS = {
  preVote: true,
  checkQuorum: true,
  restartQuiet: true,
  inflightMessagesMax: 256,
  appendEntriesMax: 512,
  appendBytesMax: 1024 * 1024,
  uncommittedEntriesMax: 100_000,
} as const;
