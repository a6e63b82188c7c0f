// The public face of a running Raft node (the driver in raft/server.ts), as the
// coordinator's HTTP layer and tools see it. Kept separate from the driver so
// callers can be written and tested against a fake.

import type { RaftStatus } from './core/api.js';
import type { NodeId } from './core/types.js';

export interface PeerEndpoint {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
}

/** Coded failures of propose/read/transfer. */
export type RaftErrorCode =
  /** This node is not the leader; `leader` names the one it knows, if any. */
  | 'CONCORD_ERR_NOT_LEADER'
  /** No leader is known right now; retry later. */
  | 'CONCORD_ERR_NO_LEADER'
  /** Gave up waiting: the write may or may not have committed (redisraft#23). */
  | 'CONCORD_ERR_OUTCOME_UNKNOWN'
  /** Proposal was superseded by another leader's entry: definitely not applied. */
  | 'CONCORD_ERR_PROPOSAL_DROPPED'
  /** Leadership transfer in progress; retry shortly. */
  | 'CONCORD_ERR_TRANSFERRING'
  /** A membership change is already pending. */
  | 'CONCORD_ERR_CONF_CHANGE_PENDING'
  /** The membership change is not allowed (unknown node, last voter, ...). */
  | 'CONCORD_ERR_INVALID_CONF_CHANGE'
  /** Too many uncommitted entries: back off. */
  | 'CONCORD_ERR_BUSY'
  /** The node's storage failed; it accepts no writes until it recovers. */
  | 'CONCORD_ERR_STORAGE_IO'
  /** The node is stopping or stopped. */
  | 'CONCORD_ERR_STOPPED';

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  readonly leader: PeerEndpoint | null;
  constructor(code: RaftErrorCode, message: string, leader: PeerEndpoint | null = null) {
    super(message);
    this.name = 'RaftError';
    this.code = code;
    this.leader = leader;
  }
}

export interface PeerStatus {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
  readonly voter: boolean;
  /** Leader only (otherwise null). */
  readonly matchIndex: number | null;
  readonly lastContactMs: number | null;
  readonly rttMs: number | null;
  /** Raft messages sent to the peer on its stream, and the frames (socket writes) they took, since the stream's channel was made. */
  readonly messagesSent: number;
  readonly framesSent: number;
}

export interface NodeStatus extends RaftStatus {
  readonly peers: readonly PeerStatus[];
  readonly leaderEndpoint: PeerEndpoint | null;
  readonly storage: { readonly healthy: boolean; readonly error: string | null; readonly logBytes: number };
  readonly snapshotInProgress: boolean;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly durableIndex: number;
  /**
   * How long ago this node last heard from its leader, in ms: 0 on the leader, null
   * when no leader is known. What a stale read reports as its age.
   */
  readonly leaderContactAgeMs: number | null;
}

export interface MemberChange {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
}

export interface RaftNodeHandle {
  readonly id: NodeId;
  /** Replicate `data`; resolves with the state machine's result once applied locally. */
  propose(data: Uint8Array, options?: { timeoutMs?: number }): Promise<{ index: number; result: unknown }>;
  /** Linearizable read barrier: resolves with a read index once this node has applied up to it (`lease`: from a leader's read lease when it holds one). */
  readBarrier(options?: { timeoutMs?: number; lease?: boolean }): Promise<number>;
  isLeader(): boolean;
  leader(): PeerEndpoint | null;
  status(): NodeStatus;
  /** The two numbers a stale read reports, without building the whole status: commit index and leader contact age. */
  readPosition(): { readonly commit: number; readonly leaderContactAgeMs: number | null };
  /** Transfer leadership to `target` (or the most caught-up voter) and wait until it holds. */
  transferLeadership(target?: NodeId, options?: { timeoutMs?: number }): Promise<NodeId>;
  /** Add as learner, wait for catch-up, then promote to voter. */
  addMember(member: MemberChange, options?: { timeoutMs?: number }): Promise<void>;
  removeMember(id: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  /** Take a snapshot now (compacting the log). */
  snapshotNow(): Promise<{ index: number; path: string; bytes: number }>;
  /** Path of the newest snapshot file, for backups. */
  latestSnapshot(): { index: number; term: number; path: string; bytes: number } | null;
  /** Log entries in [from, from + limit) still held in memory (debugging). */
  logEntries(from: number, limit: number): readonly { index: number; term: number; type: string; bytes: number }[];
  /** Subscribe to leader changes; returns an unsubscribe function. */
  onLeaderChange(listener: (leader: NodeId | null, term: number) => void): () => void;
  /** Graceful stop: hand leadership over first when `transfer` is set. */
  stop(options?: { transfer?: boolean }): Promise<void>;
}
