// The Raft protocol state machine (Ongaro's thesis; paper Figure 2), in the shape
// of etcd-io/raft's RawNode: inputs are tick/step/propose/..., outputs come back
// as a Ready batch. Pure: no I/O, clocks or randomness except the injected source.
// This file is the facade and the Ready/advance bookkeeping; the protocol lives in
// election.ts, follower.ts, leader.ts, replication.ts, leader-reads.ts, conf-apply.ts.

import type { InitialState, PeerProgress, RaftConfig, RaftStatus, RawNodeApi } from './api.js';
import { assert } from './assert.js';
import { encodeConfChange } from './conf-codec.js';
import { applyCommitted, applyConfEntry } from './conf-apply.js';
import { acceptHigherTerm, answerLowerTerm, campaign, handleVoteRequest, stepCandidate, tickElection } from './election.js';
import { stepFollower } from './follower.js';
import { handleReadIndex } from './leader-reads.js';
import { appendEntry, leaderPersisted, proposalRefusal, startTransfer, stepLeader, tickLeader } from './leader.js';
import { confChangeProblem } from './membership.js';
import { messageProblem } from './message-check.js';
import { NodeState, assertNodeInvariants, hardState, resetRandomizedTimeout, send, softState } from './node-state.js';
import { broadcastAppend } from './replication.js';
import type {
  ConfChange, Entry, HardState, Message, NodeId, ProposeResult, Ready, RequestResult, SnapshotMeta, SoftState,
} from './types.js';

/** What takeLeaderMessages hands out: replication traffic, which may precede persistence. */
const sendableEarly = (m: Message): boolean => m.type === 'heartbeat' || m.type === 'append';

/** Committed entries handed out in one Ready (bounds the driver's apply batch). */
const COMMITTED_PER_READY_MAX = 4096;

/** What the last ready() handed out, so advance() acknowledges exactly that. */
type Handed = {
  hardState: HardState;
  softState: SoftState;
  lastEntry: { index: number; term: number } | null;
  committedThrough: number;
  /** The committed entries handed out include a membership change. */
  confChangeCommitted: boolean;
  snapshot: SnapshotMeta | null;
};

export class RawNode implements RawNodeApi {
  readonly #n: NodeState;
  #prevHardState: HardState;
  #prevSoftState: SoftState;
  #handed: Handed | null = null;
  /** Last index handed out by takeCommitted(); advance() acknowledges it as applied. */
  #takenThrough = 0;

  constructor(config: RaftConfig, initial: InitialState) {
    this.#n = new NodeState(config, initial);
    const log = this.#n.log;
    // Membership changes already applied before the restart take effect again.
    for (const entry of log.slice(log.firstIndex(), log.applied + 1) ?? []) applyConfEntry(this.#n, entry);
    this.#prevHardState = hardState(this.#n);
    this.#prevSoftState = softState(this.#n);
    resetRandomizedTimeout(this.#n);
    assertNodeInvariants(this.#n);
  }

  tick(): void {
    if (this.#n.role === 'leader') tickLeader(this.#n);
    else tickElection(this.#n);
    assertNodeInvariants(this.#n);
  }

  step(message: Message): void {
    this.#step(message);
    assertNodeInvariants(this.#n);
  }

  #step(message: Message): void {
    if (message.to !== this.#n.id || message.from === this.#n.id || messageProblem(message) !== null) return;
    if (message.term > this.#n.term) {
      if (!acceptHigherTerm(this.#n, message)) return;
    } else if (message.term < this.#n.term) {
      answerLowerTerm(this.#n, message);
      return;
    }
    if (message.type === 'vote' || message.type === 'preVote') {
      handleVoteRequest(this.#n, message);
      return;
    }
    switch (this.#n.role) {
      case 'leader':
        stepLeader(this.#n, message);
        break;
      case 'candidate':
      case 'preCandidate':
        stepCandidate(this.#n, message);
        break;
      case 'follower':
        stepFollower(this.#n, message);
        break;
    }
  }

  propose(data: Uint8Array): ProposeResult {
    const refusal = proposalRefusal(this.#n);
    if (refusal !== null) return { ok: false, reason: refusal, leader: this.#n.leader };
    const entry = appendEntry(this.#n, 'normal', data);
    return { ok: true, index: entry.index, term: entry.term };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = proposalRefusal(this.#n);
    if (refusal !== null) return { ok: false, reason: refusal, leader: this.#n.leader };
    if (this.#n.pendingConfIndex > this.#n.log.applied) return { ok: false, reason: 'confChangePending', leader: this.#n.id };
    if (confChangeProblem(this.#n.confs.current(), change) !== null) {
      return { ok: false, reason: 'invalidConfChange', leader: this.#n.id };
    }
    const entry = appendEntry(this.#n, 'confChange', encodeConfChange(change));
    this.#n.pendingConfIndex = entry.index;
    return { ok: true, index: entry.index, term: entry.term };
  }

  readIndex(context: string): RequestResult {
    if (this.#n.role === 'leader') {
      handleReadIndex(this.#n, context, this.#n.id);
      return { ok: true };
    }
    if (this.#n.leader === null) return { ok: false, reason: 'noLeader', leader: null };
    send(this.#n, { type: 'readIndex', to: this.#n.leader, term: this.#n.term, context });
    return { ok: true };
  }

  transferLeader(target: NodeId): RequestResult {
    if (this.#n.role !== 'leader') {
      if (this.#n.leader === null) return { ok: false, reason: 'noLeader', leader: null };
      send(this.#n, { type: 'transferLeader', to: this.#n.leader, term: this.#n.term, target });
      return { ok: true };
    }
    return startTransfer(this.#n, target);
  }

  campaign(): void {
    if (this.#n.role === 'leader') return;
    campaign(this.#n, 'preElection');
  }

  reportUnreachable(peer: NodeId): void {
    const progress = this.#n.progress.get(peer);
    if (this.#n.role !== 'leader' || progress === undefined) return;
    if (progress.state === 'replicate') progress.becomeProbe();
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    const progress = this.#n.progress.get(peer);
    if (this.#n.role !== 'leader' || progress === undefined || progress.state !== 'snapshot') return;
    if (!ok) progress.pendingSnapshot = 0;
    progress.becomeProbe();
    // Wait for the follower's answer (or a heartbeat answer) before probing again.
    progress.probeSent = true;
  }

  compact(index: number, keepEntries: number): SnapshotMeta {
    assert(index <= this.#n.log.applied, () => `snapshot index ${index} beyond applied ${this.#n.log.applied}`);
    assert(index >= (this.#n.snapshot?.index ?? 0), () => `snapshot index ${index} older than ${this.#n.snapshot?.index}`);
    const term = this.#n.log.term(index);
    assert(term !== undefined, () => `no term known at snapshot index ${index}`);
    const meta: SnapshotMeta = { index, term, confState: this.#n.confs.at(index) };
    this.#n.snapshot = meta;
    const through = Math.min(index - keepEntries, this.#n.log.persisted);
    if (through > this.#n.log.offset) {
      this.#n.log.compactThrough(through);
    }
    this.#n.confs.compact(this.#n.log.offset);
    return meta;
  }

  /**
   * A leader's heartbeats and appends queued since the last ready(), taken now: while the
   * driver is still writing the previous Ready, heartbeats keep flowing, so a slow fsync
   * shorter than the persist stall limit does not cost an election (etcd stalls its
   * heartbeats behind the WAL). Empty unless this node leads; everything else (snapshots,
   * TimeoutNow, responses) waits for the next Ready as usual.
   */
  takeLeaderMessages(): Message[] {
    if (this.#n.role !== 'leader' || this.#n.messages.length === 0) return [];
    const early = this.#n.messages.filter(sendableEarly);
    if (early.length === 0) return [];
    this.#n.messages = this.#n.messages.filter((m) => !sendableEarly(m));
    return early;
  }

  /**
   * Committed entries that are durable here and were not handed out yet, taken while a
   * Ready is still being written: the follower acknowledgements that commit them need
   * not wait for this node's next fsync before the entries are applied and answered.
   * They follow the handed Ready's committed entries, so the driver applies them after
   * those, and must have applied them before the next advance(), which acknowledges them.
   * Read states come along (a quorum confirmed leadership; only the applied index gates them).
   * Stops before a membership change: that is applied through a Ready, next to the advance()
   * that makes it take effect in the core.
   */
  takeCommitted(): { entries: Entry[]; readStates: Ready['readStates'] } {
    const handed = this.#handed;
    if (this.#n.snapshotToInstall !== null || handed?.snapshot != null) return { entries: [], readStates: [] };
    const readStates = this.#n.readStates;
    this.#n.readStates = [];
    // The driver applies a handed membership change (and what follows it) after the write, so nothing may overtake it.
    if (handed?.confChangeCommitted === true) return { entries: [], readStates };
    const from = Math.max(this.#n.log.applied, handed?.committedThrough ?? 0, this.#takenThrough) + 1;
    const to = Math.min(this.#n.log.committed, this.#n.log.persisted, from + COMMITTED_PER_READY_MAX - 1);
    const durable = to < from ? [] : this.#n.log.slice(from, to + 1) ?? [];
    // A membership change takes effect in the core on advance(); it and what follows wait for the Ready path.
    const change = durable.findIndex((e) => e.type === 'confChange');
    const entries = change < 0 ? durable : durable.slice(0, change);
    if (entries.length > 0) this.#takenThrough = entries[entries.length - 1].index;
    return { entries, readStates };
  }

  hasReady(): boolean {
    if (this.#handed !== null) return false;
    return this.#broadcastDue() || this.#n.messages.length > 0 || this.#n.readStates.length > 0 || this.#n.snapshotToInstall !== null ||
      this.#n.log.unstableFrom <= this.#n.log.lastIndex() || this.#n.log.committed > this.#n.log.applied ||
      !sameHardState(hardState(this.#n), this.#prevHardState) || !sameSoftState(softState(this.#n), this.#prevSoftState);
  }

  #broadcastDue(): boolean {
    return this.#n.broadcastPending && this.#n.role === 'leader';
  }

  ready(): Ready {
    assert(this.#handed === null, 'ready() called twice without advance()');
    if (this.#broadcastDue()) broadcastAppend(this.#n);
    this.#n.broadcastPending = false;
    const hard = hardState(this.#n);
    const soft = softState(this.#n);
    const entries = this.#n.log.unstableEntries();
    const committed = this.#n.snapshotToInstall === null ? this.#n.log.nextCommitted(COMMITTED_PER_READY_MAX, this.#takenThrough) : [];
    const last = entries.length > 0 ? entries[entries.length - 1] : null;
    const ready: Ready = {
      softState: sameSoftState(soft, this.#prevSoftState) ? null : soft,
      hardState: sameHardState(hard, this.#prevHardState) ? null : hard,
      snapshot: this.#n.snapshotToInstall,
      entries,
      messages: this.#n.messages,
      committedEntries: committed,
      readStates: this.#n.readStates,
    };
    this.#handed = {
      hardState: hard, softState: soft, lastEntry: last === null ? null : { index: last.index, term: last.term },
      committedThrough: committed.length > 0 ? committed[committed.length - 1].index : Math.max(this.#n.log.applied, this.#takenThrough),
      confChangeCommitted: committed.some((e) => e.type === 'confChange'),
      snapshot: this.#n.snapshotToInstall,
    };
    if (last !== null) this.#n.log.unstableFrom = last.index + 1;
    this.#n.messages = [];
    this.#n.readStates = [];
    return ready;
  }

  advance(): void {
    const handed = this.#handed;
    assert(handed !== null, 'advance() without ready()');
    this.#handed = null;
    this.#prevHardState = handed.hardState;
    this.#prevSoftState = handed.softState;
    if (handed.snapshot !== null) {
      if (this.#n.snapshotToInstall === handed.snapshot) this.#n.snapshotToInstall = null;
      this.#n.log.applied = Math.max(this.#n.log.applied, handed.snapshot.index);
      this.#n.log.persisted = Math.max(this.#n.log.persisted, handed.snapshot.index);
    }
    const persistedBefore = this.#n.log.persisted;
    const last = handed.lastEntry;
    if (last !== null) {
      const durable = this.#n.log.matchTerm(last.index, last.term) ? last.index : Math.min(last.index, this.#n.log.persisted);
      this.#n.log.persisted = Math.max(this.#n.log.persisted, Math.min(durable, this.#n.log.lastIndex()));
    }
    applyCommitted(this.#n, Math.max(handed.committedThrough, this.#takenThrough));
    if (this.#n.log.persisted > persistedBefore) this.#n.stallTicks = 0;
    if (this.#n.role === 'leader') leaderPersisted(this.#n);
    assertNodeInvariants(this.#n);
  }

  status(): RaftStatus {
    const progress: PeerProgress[] = [];
    if (this.#n.role === 'leader') {
      for (const [id, p] of this.#n.progress) {
        if (id === this.#n.id) continue;
        progress.push({
          id, match: p.match, next: p.next, state: p.state, learner: p.learner, recentActive: p.recentActive,
          ticksSinceContact: p.ticksSinceContact, inflight: p.inflights.count,
        });
      }
    }
    return {
      id: this.#n.id, role: this.#n.role, term: this.#n.term, vote: this.#n.vote, leader: this.#n.leader,
      commit: this.#n.log.committed, applied: this.#n.log.applied, lastIndex: this.#n.log.lastIndex(),
      leaderCommit: Math.max(this.#n.leaderCommit, this.#n.log.committed), // a leader heard none this term: its own commit
      firstIndex: this.#n.log.firstIndex(), snapshotIndex: this.#n.snapshot?.index ?? 0,
      confState: this.#n.confs.current(), pendingConfIndex: this.#n.pendingConfIndex, transferee: this.#n.transferee,
      progress,
    };
  }

  entries(from: number, to: number): readonly Entry[] {
    return this.#n.log.slice(Math.max(from, this.#n.log.firstIndex()), to) ?? [];
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}
