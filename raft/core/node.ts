// The Raft protocol state machine (Ongaro's thesis; paper Figure 2), in the shape
// of etcd-io/raft's RawNode: inputs are tick/step/propose/..., outputs come back
// as a Ready batch. Pure: no I/O, clocks or randomness except the injected source.

import type { InitialState, PeerProgress, RaftConfig, RaftStatus, RawNodeApi } from './api.js';
import { assert } from './assert.js';
import { decodeConfChange, encodeConfChange } from './conf-codec.js';
import { RaftLog } from './log.js';
import { messageProblem } from './message-check.js';
import { ConfHistory, applyConfChange, confChangeProblem, isMember } from './membership.js';
import { Progress } from './progress.js';
import { hasQuorum, majorityIndex, tallyVotes } from './quorum.js';
import { ReadOnlyQueue } from './read-only.js';
import type {
  AppendMessage, AppendResponseMessage, ConfChange, Entry, HardState, HeartbeatMessage, HeartbeatResponseMessage,
  Message, NodeId, ProposeResult, ReadState, Ready, RefusalReason, RequestResult, Role,
  SnapshotMessage, SnapshotMeta, SoftState, VoteMessage, VoteResponseMessage,
} from './types.js';

/** Reads queued on a new leader until it commits an entry of its term. */
const PENDING_READS_MAX = 4096;
/** Committed entries handed out in one Ready. */
const COMMITTED_PER_READY_MAX = 4096;

const EMPTY = new Uint8Array(0);

type Handed = {
  hardState: HardState;
  softState: SoftState;
  lastEntry: { index: number; term: number } | null;
  truncatedBelow: number;
  committedThrough: number;
  snapshot: SnapshotMeta | null;
};

export class RawNode implements RawNodeApi {
  readonly #config: RaftConfig;
  readonly #id: NodeId;
  readonly #log: RaftLog;
  readonly #confs: ConfHistory;
  #term: number;
  #vote: NodeId | null;
  #role: Role = 'follower';
  #leader: NodeId | null = null;
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  #votes = new Map<NodeId, boolean>();
  #progress = new Map<NodeId, Progress>();
  #pendingConfIndex = 0;
  #transferee: NodeId | null = null;
  #transferElapsed = 0;
  #readOnly = new ReadOnlyQueue();
  #pendingReads: { context: string; from: NodeId }[] = [];
  /** Leader ticks during which its own log had entries the driver had not persisted, without progress. */
  #stallTicks = 0;
  #snapshot: SnapshotMeta | null;
  #snapshotToInstall: SnapshotMeta | null = null;
  #messages: Message[] = [];
  #readStates: ReadState[] = [];
  #prevHardState: HardState;
  #prevSoftState: SoftState;
  #handed: Handed | null = null;
  /** Highest term this node led (invariant: never leads the same term twice). */
  #ledTerm = 0;

  constructor(config: RaftConfig, initial: InitialState) {
    this.#config = config;
    this.#id = config.id;
    const snapshot = initial.snapshot;
    this.#snapshot = snapshot;
    const offset = snapshot?.index ?? (initial.entries.length > 0 ? initial.entries[0].index - 1 : 0);
    const offsetTerm = snapshot?.term ?? 0;
    assert(offset === 0 || snapshot !== null, 'a log that does not start at 1 needs a snapshot');
    this.#log = new RaftLog({
      offset, offsetTerm, entries: initial.entries, committed: Math.max(initial.hardState.commit, offset),
      applied: Math.max(initial.applied, offset),
    });
    assert(this.#log.applied <= this.#log.committed, () =>
      `applied ${initial.applied} beyond commit ${initial.hardState.commit}`);
    this.#confs = new ConfHistory(snapshot?.confState ?? initial.bootstrapConfState);
    for (const entry of this.#log.slice(this.#log.firstIndex(), this.#log.applied + 1) ?? []) {
      this.#applyConfEntry(entry);
    }
    this.#term = initial.hardState.term;
    this.#vote = initial.hardState.vote;
    assert(this.#term >= this.#log.lastTerm(), () => `hard state term ${this.#term} below last log term ${this.#log.lastTerm()}`);
    this.#prevHardState = this.#hardState();
    this.#prevSoftState = this.#softState();
    this.#resetRandomizedTimeout();
  }

  // ---- inputs ----------------------------------------------------------------

  tick(): void {
    if (this.#role === 'leader') this.#tickLeader();
    else this.#tickElection();
  }

  step(message: Message): void {
    if (message.to !== this.#id || message.from === this.#id || messageProblem(message) !== null) return;
    if (message.term > this.#term) {
      if (!this.#acceptHigherTerm(message)) return;
    } else if (message.term < this.#term) {
      this.#answerLowerTerm(message);
      return;
    }
    if (message.type === 'vote' || message.type === 'preVote') {
      this.#handleVoteRequest(message);
      return;
    }
    switch (this.#role) {
      case 'leader':
        this.#stepLeader(message);
        break;
      case 'candidate':
      case 'preCandidate':
        this.#stepCandidate(message);
        break;
      case 'follower':
        this.#stepFollower(message);
        break;
    }
  }

  propose(data: Uint8Array): ProposeResult {
    const refusal = this.#proposalRefusal();
    if (refusal !== null) return { ok: false, reason: refusal, leader: this.#leader };
    const entry = this.#appendEntry('normal', data);
    return { ok: true, index: entry.index, term: entry.term };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = this.#proposalRefusal();
    if (refusal !== null) return { ok: false, reason: refusal, leader: this.#leader };
    if (this.#pendingConfIndex > this.#log.applied) return { ok: false, reason: 'confChangePending', leader: this.#id };
    if (confChangeProblem(this.#confs.current(), change) !== null) {
      return { ok: false, reason: 'invalidConfChange', leader: this.#id };
    }
    const entry = this.#appendEntry('confChange', encodeConfChange(change));
    this.#pendingConfIndex = entry.index;
    return { ok: true, index: entry.index, term: entry.term };
  }

  readIndex(context: string): RequestResult {
    if (this.#role === 'leader') {
      this.#handleReadIndex(context, this.#id);
      return { ok: true };
    }
    if (this.#leader === null) return { ok: false, reason: 'noLeader', leader: null };
    this.#send({ type: 'readIndex', to: this.#leader, term: this.#term, context });
    return { ok: true };
  }

  transferLeader(target: NodeId): RequestResult {
    if (this.#role !== 'leader') {
      if (this.#leader === null) return { ok: false, reason: 'noLeader', leader: null };
      this.#send({ type: 'transferLeader', to: this.#leader, term: this.#term, target });
      return { ok: true };
    }
    return this.#startTransfer(target);
  }

  campaign(): void {
    if (this.#role === 'leader') return;
    this.#campaign('preElection');
  }

  reportUnreachable(peer: NodeId): void {
    const progress = this.#progress.get(peer);
    if (this.#role !== 'leader' || progress === undefined) return;
    if (progress.state === 'replicate') progress.becomeProbe();
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    const progress = this.#progress.get(peer);
    if (this.#role !== 'leader' || progress === undefined || progress.state !== 'snapshot') return;
    if (!ok) progress.pendingSnapshot = 0;
    progress.becomeProbe();
    // Wait for the follower's answer (or a heartbeat answer) before probing again.
    progress.probeSent = true;
  }

  compact(index: number, keepEntries: number): SnapshotMeta {
    assert(index <= this.#log.applied, () => `snapshot index ${index} beyond applied ${this.#log.applied}`);
    assert(index >= (this.#snapshot?.index ?? 0), () => `snapshot index ${index} older than ${this.#snapshot?.index}`);
    const term = this.#log.term(index);
    assert(term !== undefined, () => `no term known at snapshot index ${index}`);
    const meta: SnapshotMeta = { index, term, confState: this.#confs.at(index) };
    this.#snapshot = meta;
    const through = Math.min(index - keepEntries, this.#log.persisted);
    if (through > this.#log.offset) {
      this.#log.compactThrough(through);
    }
    this.#confs.compact(this.#log.offset);
    return meta;
  }

  // ---- Ready / advance ----------------------------------------------------------

  hasReady(): boolean {
    if (this.#handed !== null) return false;
    return this.#messages.length > 0 || this.#readStates.length > 0 || this.#snapshotToInstall !== null ||
      this.#log.unstableFrom <= this.#log.lastIndex() || this.#log.committed > this.#log.applied ||
      !sameHardState(this.#hardState(), this.#prevHardState) || !sameSoftState(this.#softState(), this.#prevSoftState);
  }

  ready(): Ready {
    assert(this.#handed === null, 'ready() called twice without advance()');
    const hardState = this.#hardState();
    const softState = this.#softState();
    const entries = this.#log.unstableEntries();
    const committed = this.#snapshotToInstall === null ? this.#log.nextCommitted(COMMITTED_PER_READY_MAX) : [];
    const last = entries.length > 0 ? entries[entries.length - 1] : null;
    const ready: Ready = {
      softState: sameSoftState(softState, this.#prevSoftState) ? null : softState,
      hardState: sameHardState(hardState, this.#prevHardState) ? null : hardState,
      snapshot: this.#snapshotToInstall,
      entries,
      messages: this.#messages,
      committedEntries: committed,
      readStates: this.#readStates,
    };
    this.#handed = {
      hardState, softState, lastEntry: last === null ? null : { index: last.index, term: last.term },
      truncatedBelow: Number.POSITIVE_INFINITY,
      committedThrough: committed.length > 0 ? committed[committed.length - 1].index : this.#log.applied,
      snapshot: this.#snapshotToInstall,
    };
    if (last !== null) this.#log.unstableFrom = last.index + 1;
    this.#messages = [];
    this.#readStates = [];
    return ready;
  }

  advance(): void {
    const handed = this.#handed;
    assert(handed !== null, 'advance() without ready()');
    this.#handed = null;
    this.#prevHardState = handed.hardState;
    this.#prevSoftState = handed.softState;
    if (handed.snapshot !== null) {
      if (this.#snapshotToInstall === handed.snapshot) this.#snapshotToInstall = null;
      this.#log.applied = Math.max(this.#log.applied, handed.snapshot.index);
      this.#log.persisted = Math.max(this.#log.persisted, handed.snapshot.index);
    }
    const persistedBefore = this.#log.persisted;
    const last = handed.lastEntry;
    if (last !== null) {
      const durable = this.#log.matchTerm(last.index, last.term) ? last.index : Math.min(last.index, this.#log.persisted);
      this.#log.persisted = Math.max(this.#log.persisted, Math.min(durable, this.#log.lastIndex()));
    }
    this.#applyCommitted(handed.committedThrough);
    if (this.#log.persisted > persistedBefore) this.#stallTicks = 0;
    if (this.#role === 'leader') this.#leaderPersisted();
  }

  #applyCommitted(through: number): void {
    if (through <= this.#log.applied) return;
    for (const entry of this.#log.slice(this.#log.applied + 1, through + 1) ?? []) {
      this.#log.applied = entry.index;
      this.#applyConfEntry(entry);
    }
    this.#log.applied = through;
  }

  // ---- status ------------------------------------------------------------------

  status(): RaftStatus {
    const progress: PeerProgress[] = [];
    if (this.#role === 'leader') {
      for (const [id, p] of this.#progress) {
        if (id === this.#id) continue;
        progress.push({
          id, match: p.match, next: p.next, state: p.state, learner: p.learner, recentActive: p.recentActive,
          ticksSinceContact: p.ticksSinceContact, inflight: p.inflights.count,
        });
      }
    }
    return {
      id: this.#id, role: this.#role, term: this.#term, vote: this.#vote, leader: this.#leader,
      commit: this.#log.committed, applied: this.#log.applied, lastIndex: this.#log.lastIndex(),
      firstIndex: this.#log.firstIndex(), snapshotIndex: this.#snapshot?.index ?? 0,
      confState: this.#confs.current(), pendingConfIndex: this.#pendingConfIndex, transferee: this.#transferee,
      progress,
    };
  }

  entries(from: number, to: number): readonly Entry[] {
    return this.#log.slice(Math.max(from, this.#log.firstIndex()), to) ?? [];
  }

  // ---- roles -------------------------------------------------------------------

  #becomeFollower(term: number, leader: NodeId | null): void {
    if (this.#role === 'leader') this.#abandonLeadership();
    if (term !== this.#term) {
      assert(term > this.#term, () => `term moved backwards ${this.#term} -> ${term}`);
      this.#term = term;
      this.#vote = null;
    }
    this.#role = 'follower';
    this.#leader = leader;
    this.#resetElectionTimer();
  }

  #becomePreCandidate(): void {
    assert(this.#role !== 'leader', 'a leader cannot become pre-candidate');
    // etcd#8334: a pre-candidate forgets its leader, else a lease check could keep the cluster leaderless.
    this.#role = 'preCandidate';
    this.#leader = null;
    this.#votes = new Map([[this.#id, true]]);
    this.#resetElectionTimer();
  }

  #becomeCandidate(): void {
    assert(this.#role !== 'leader', 'a leader cannot become candidate');
    this.#term += 1;
    this.#vote = this.#id;
    this.#role = 'candidate';
    this.#leader = null;
    this.#votes = new Map([[this.#id, true]]);
    this.#resetElectionTimer();
  }

  #becomeLeader(): void {
    assert(this.#role === 'candidate', 'only a candidate becomes leader');
    assert(this.#ledTerm < this.#term, () => `already led term ${this.#term}`);
    this.#ledTerm = this.#term;
    this.#role = 'leader';
    this.#leader = this.#id;
    this.#transferee = null;
    this.#stallTicks = 0;
    this.#heartbeatElapsed = 0;
    this.#electionElapsed = 0;
    this.#progress = new Map();
    const conf = this.#confs.current();
    for (const id of [...conf.voters, ...conf.learners]) this.#addProgress(id, conf.learners.includes(id));
    // Conservative: no membership change until everything before this term is applied.
    this.#pendingConfIndex = this.#log.lastIndex();
    // §5.4.2 / §8: commit a no-op of our own term so earlier entries commit and reads are safe.
    this.#appendEntry('normal', EMPTY);
  }

  #abandonLeadership(): void {
    for (const request of this.#readOnly.drain()) this.#rejectRead(request.context, request.from);
    for (const request of this.#pendingReads) this.#rejectRead(request.context, request.from);
    this.#pendingReads = [];
    this.#progress = new Map();
    this.#transferee = null;
  }

  #rejectRead(context: string, from: NodeId): void {
    if (from !== this.#id) this.#send({ type: 'readIndexResponse', to: from, term: this.#term, context, index: 0, reject: true });
  }

  #addProgress(id: NodeId, learner: boolean): void {
    const progress = new Progress(this.#log.lastIndex() + 1, this.#config.inflightMessagesMax, learner);
    if (id === this.#id) {
      progress.match = this.#log.persisted;
      progress.recentActive = true;
    }
    this.#progress.set(id, progress);
  }

  // ---- time --------------------------------------------------------------------

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#electionElapsed < this.#randomizedElectionTimeout) return;
    this.#electionElapsed = 0;
    if (this.#promotable()) this.#campaign('preElection');
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    for (const [id, p] of this.#progress) if (id !== this.#id) p.ticksSinceContact++;
    // Stalled: entries wait to be persisted; any advance() that moves `persisted` resets the count.
    this.#stallTicks = this.#log.persisted < this.#log.lastIndex() ? this.#stallTicks + 1 : 0;
    if (this.#stallTicks >= this.#config.persistStallTicksMax) {
      // hashicorp/raft#503: a leader that cannot persist must not keep heartbeating.
      this.#becomeFollower(this.#term, null);
      return;
    }
    if (this.#config.checkQuorum && !this.#quorumActive()) {
      // Thesis §6.2: no majority heard within electionTicksMin ticks; a newer leader may exist.
      this.#becomeFollower(this.#term, null);
      return;
    }
    if (this.#electionElapsed >= this.#config.electionTicksMin) {
      this.#electionElapsed = 0;
      for (const [id, p] of this.#progress) if (id !== this.#id) p.recentActive = false;
    }
    if (this.#transferee !== null && ++this.#transferElapsed >= this.#config.electionTicksMin) this.#transferee = null;
    if (this.#heartbeatElapsed >= this.#config.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#broadcastHeartbeat(this.#readOnly.lastContext());
    }
  }

  /**
   * CheckQuorum: has a majority of voters (counting us) answered within the last
   * electionTicksMin ticks? Checked every tick from each peer's last contact, so a
   * cut-off leader steps down within electionTicksMin ticks, not up to twice that.
   */
  #quorumActive(): boolean {
    const active = new Set<NodeId>([this.#id]);
    for (const [id, p] of this.#progress) {
      if (p.ticksSinceContact < this.#config.electionTicksMin) active.add(id);
    }
    return hasQuorum(this.#confs.current().voters, active);
  }

  #resetElectionTimer(): void {
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#resetRandomizedTimeout();
  }

  #resetRandomizedTimeout(): void {
    const { electionTicksMin: min, electionTicksMax: max } = this.#config;
    const draw = Math.floor(this.#config.random() * (max - min + 1));
    this.#randomizedElectionTimeout = min + Math.min(Math.max(draw, 0), max - min);
  }

  #promotable(): boolean {
    // A node with a disk that cannot keep up must not lead (see persistStallTicksMax).
    return this.#confs.current().voters.includes(this.#id) && this.#snapshotToInstall === null;
  }

  // ---- elections ---------------------------------------------------------------

  /**
   * preElection: PreVote first (when enabled); election: a real vote (after a won
   * pre-vote); transfer: TimeoutNow, a real vote whose requests override leases.
   * Only `transfer` sets the flag: a won pre-vote must not bypass other voters' leases.
   */
  #campaign(kind: CampaignKind): void {
    if (!this.#promotable()) return;
    const voters = this.#confs.current().voters;
    if (this.#config.preVote && kind === 'preElection') {
      this.#becomePreCandidate();
      if (tallyVotes(voters, this.#votes) === 'won') return this.#campaign('election');
      this.#requestVotes('preVote', this.#term + 1, false);
      return;
    }
    this.#becomeCandidate();
    if (tallyVotes(voters, this.#votes) === 'won') {
      this.#becomeLeader();
      return;
    }
    this.#requestVotes('vote', this.#term, kind === 'transfer');
  }

  #requestVotes(type: 'vote' | 'preVote', term: number, transfer: boolean): void {
    for (const id of this.#confs.current().voters) {
      if (id === this.#id) continue;
      this.#messages.push({
        type, from: this.#id, to: id, term, lastIndex: this.#log.lastIndex(), lastTerm: this.#log.lastTerm(), transfer,
      });
    }
  }

  /** A message from a higher term arrived; returns false if it must be ignored. */
  #acceptHigherTerm(message: Message): boolean {
    if (message.type === 'vote' || message.type === 'preVote') {
      const inLease = this.#config.checkQuorum && this.#leader !== null &&
        this.#electionElapsed < this.#config.electionTicksMin;
      // Leader lease (thesis §4.2.3): a voter that hears from a live leader ignores disruptive candidates.
      if (inLease && !message.transfer) return false;
    }
    if (message.type === 'preVote') return true;
    if (message.type === 'preVoteResponse' && !message.reject) return true;
    const leader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot'
      ? message.from : null;
    this.#becomeFollower(message.term, leader);
    return true;
  }

  #answerLowerTerm(message: Message): void {
    if ((this.#config.checkQuorum || this.#config.preVote) &&
      (message.type === 'append' || message.type === 'heartbeat')) {
      // A stale leader learns our term and steps down (etcd's answer to a partitioned old leader).
      this.#send({ type: 'appendResponse', to: message.from, term: this.#term, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
    } else if (message.type === 'preVote') {
      this.#send({ type: 'preVoteResponse', to: message.from, term: this.#term, reject: true });
    }
  }

  #handleVoteRequest(message: VoteMessage): void {
    const responseType = message.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    const canVote = this.#vote === message.from ||
      (this.#vote === null && this.#leader === null) ||
      (message.type === 'preVote' && message.term > this.#term);
    const grant = canVote && this.#log.isUpToDate(message.lastIndex, message.lastTerm);
    if (!grant) {
      this.#send({ type: responseType, to: message.from, term: this.#term, reject: true });
      return;
    }
    // For a pre-vote the response carries the term the candidate will use.
    this.#send({ type: responseType, to: message.from, term: message.term, reject: false });
    if (message.type === 'vote') {
      this.#electionElapsed = 0;
      this.#vote = message.from;
    }
  }

  #stepCandidate(message: Message): void {
    switch (message.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.#becomeFollower(this.#term, message.from);
        this.#stepFollower(message);
        return;
      case 'voteResponse':
      case 'preVoteResponse':
        this.#handleVoteResponse(message);
        return;
      default:
        return;
    }
  }

  #handleVoteResponse(message: VoteResponseMessage): void {
    const expected = this.#role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
    if (message.type !== expected) return;
    if (this.#role === 'preCandidate' && message.term !== this.#term + 1 && !message.reject) return;
    this.#votes.set(message.from, !message.reject);
    const outcome = tallyVotes(this.#confs.current().voters, this.#votes);
    if (outcome === 'won') {
      if (this.#role === 'preCandidate') this.#campaign('election');
      else this.#becomeLeader();
    } else if (outcome === 'lost') {
      this.#becomeFollower(this.#term, null);
    }
  }

  // ---- follower ----------------------------------------------------------------

  #stepFollower(message: Message): void {
    switch (message.type) {
      case 'append':
        this.#heardFromLeader(message.from);
        this.#handleAppend(message);
        return;
      case 'heartbeat':
        this.#heardFromLeader(message.from);
        this.#handleHeartbeat(message);
        return;
      case 'snapshot':
        this.#heardFromLeader(message.from);
        this.#handleSnapshot(message);
        return;
      case 'timeoutNow':
        // Thesis §3.10: the leader asked us to take over; skip PreVote and ignore leases.
        if (this.#promotable()) this.#campaign('transfer');
        return;
      case 'transferLeader':
        if (this.#leader !== null) this.#send({ type: 'transferLeader', to: this.#leader, term: this.#term, target: message.target });
        return;
      case 'readIndexResponse':
        if (!message.reject) this.#readStates.push({ index: message.index, context: message.context });
        return;
      default:
        return;
    }
  }

  #heardFromLeader(leader: NodeId): void {
    this.#electionElapsed = 0;
    this.#leader = leader;
  }

  #handleAppend(message: AppendMessage): void {
    const respond = (fields: Pick<AppendResponseMessage, 'index' | 'reject' | 'hintIndex' | 'hintTerm'>) =>
      this.#send({ type: 'appendResponse', to: message.from, term: this.#term, ...fields });
    if (message.prevIndex < this.#log.committed) {
      respond({ index: this.#log.committed, reject: false, hintIndex: 0, hintTerm: 0 });
      return;
    }
    if (this.#log.matchTerm(message.prevIndex, message.prevTerm)) {
      this.#log.mergeAfter(message.prevIndex, message.entries);
      const lastNew = message.prevIndex + message.entries.length;
      this.#log.commitTo(Math.min(message.commit, lastNew));
      respond({ index: lastNew, reject: false, hintIndex: 0, hintTerm: 0 });
      return;
    }
    // Fast back-tracking: our last index whose term ≤ the leader's prevTerm.
    const hintIndex = this.#log.lastIndexWithTermAtMost(Math.min(message.prevIndex, this.#log.lastIndex()), message.prevTerm);
    respond({ index: message.prevIndex, reject: true, hintIndex, hintTerm: this.#log.term(hintIndex) ?? 0 });
  }

  #handleHeartbeat(message: HeartbeatMessage): void {
    this.#log.commitTo(Math.min(message.commit, this.#log.lastIndex()));
    this.#send({ type: 'heartbeatResponse', to: message.from, term: this.#term, context: message.context });
  }

  #handleSnapshot(message: SnapshotMessage): void {
    const meta = message.snapshot;
    const respond = (index: number) =>
      this.#send({ type: 'appendResponse', to: message.from, term: this.#term, index, reject: false, hintIndex: 0, hintTerm: 0 });
    if (meta.index <= this.#log.committed) {
      respond(this.#log.committed);
      return;
    }
    if (this.#log.matchTerm(meta.index, meta.term)) {
      // We already hold the snapshot's last entry: just fast-forward the commit.
      this.#log.commitTo(meta.index);
      respond(meta.index);
      return;
    }
    // Paper fig. 13 rule 7: discard the whole log and adopt the snapshot (hashicorp/raft#697).
    this.#log.restore(meta.index, meta.term);
    this.#snapshot = meta;
    this.#snapshotToInstall = meta;
    this.#confs.reset(meta.confState);
    respond(meta.index);
  }

  // ---- leader ------------------------------------------------------------------

  #stepLeader(message: Message): void {
    const progress = this.#progress.get(message.from);
    switch (message.type) {
      case 'appendResponse':
        if (progress !== undefined) this.#handleAppendResponse(message, progress);
        return;
      case 'heartbeatResponse':
        if (progress !== undefined) this.#handleHeartbeatResponse(message, progress);
        return;
      case 'readIndex':
        this.#handleReadIndex(message.context, message.from);
        return;
      case 'transferLeader':
        this.#startTransfer(message.target);
        return;
      default:
        return;
    }
  }

  #handleAppendResponse(message: AppendResponseMessage, progress: Progress): void {
    // Leader completeness: no follower of this term can hold more than we do; a larger claim is bogus.
    if (message.index > this.#log.lastIndex()) return;
    progress.recentActive = true;
    progress.ticksSinceContact = 0;
    if (message.reject) {
      const nextProbe = message.hintTerm > 0
        ? this.#log.lastIndexWithTermAtMost(message.hintIndex, message.hintTerm)
        : message.hintIndex;
      if (progress.maybeDecrTo(message.index, nextProbe)) {
        if (progress.state === 'replicate') progress.becomeProbe();
        this.#sendAppend(message.from);
      }
      return;
    }
    const wasPaused = progress.isPaused();
    if (!progress.maybeUpdate(message.index)) {
      if (wasPaused && progress.state === 'probe') this.#sendAppend(message.from);
      return;
    }
    if (progress.state === 'probe') progress.becomeReplicate();
    else if (progress.state === 'snapshot' && progress.match >= progress.pendingSnapshot) {
      progress.becomeProbe();
      progress.becomeReplicate();
    } else if (progress.state === 'replicate') progress.inflights.freeLE(message.index);
    if (this.#maybeCommit()) this.#broadcastAppend();
    else this.#sendAppendWhileOpen(message.from);
    if (message.from === this.#transferee && progress.match === this.#log.lastIndex()) {
      this.#send({ type: 'timeoutNow', to: message.from, term: this.#term });
    }
  }

  #handleHeartbeatResponse(message: HeartbeatResponseMessage, progress: Progress): void {
    progress.recentActive = true;
    progress.ticksSinceContact = 0;
    // etcd-io/raft#52: a follower paused in probe recovers through heartbeat answers;
    // a full window in replicate frees one slot so a lost append is noticed (etcd does the same).
    progress.probeSent = false;
    if (progress.state === 'replicate' && progress.inflights.full()) progress.inflights.freeFirst();
    if (progress.match < this.#log.lastIndex()) this.#sendAppend(message.from);
    if (message.context === null) return;
    const acks = this.#readOnly.ack(message.context, message.from);
    if (acks === null || !hasQuorum(this.#confs.current().voters, acks)) return;
    for (const request of this.#readOnly.releaseThrough(message.context)) this.#answerRead(request.context, request.from, request.index);
  }

  #answerRead(context: string, from: NodeId, index: number): void {
    if (from === this.#id) this.#readStates.push({ index, context });
    else this.#send({ type: 'readIndexResponse', to: from, term: this.#term, context, index, reject: false });
  }

  /** Returns true when the read joined the heartbeat-confirmed queue (caller broadcasts). */
  #handleReadIndex(context: string, from: NodeId, broadcast = true): boolean {
    if (!this.#committedInCurrentTerm()) {
      // Thesis §6.4 step 1 (RedisLabs/redisraft#19): no read index before our no-op commits.
      this.#queueRead(context, from);
      return false;
    }
    const voters = this.#confs.current().voters;
    if (voters.length === 1 && voters[0] === this.#id) {
      this.#answerRead(context, from, this.#log.committed);
      return false;
    }
    if (this.#readOnly.size >= PENDING_READS_MAX) {
      this.#rejectRead(context, from);
      return false;
    }
    this.#readOnly.add(context, from, this.#log.committed, this.#id);
    if (broadcast) this.#broadcastHeartbeat(context);
    return true;
  }

  #queueRead(context: string, from: NodeId): void {
    if (this.#pendingReads.length >= PENDING_READS_MAX) {
      this.#rejectRead(context, from);
      return;
    }
    this.#pendingReads.push({ context, from });
  }

  #committedInCurrentTerm(): boolean {
    return this.#log.term(this.#log.committed) === this.#term;
  }

  #startTransfer(target: NodeId): RequestResult {
    const progress = this.#progress.get(target);
    if (target === this.#id || progress === undefined || !this.#confs.current().voters.includes(target)) {
      return { ok: false, reason: 'invalidTarget', leader: this.#id };
    }
    if (this.#transferee === target) return { ok: true };
    this.#transferee = target;
    this.#transferElapsed = 0;
    this.#electionElapsed = 0;
    if (progress.match === this.#log.lastIndex()) this.#send({ type: 'timeoutNow', to: target, term: this.#term });
    else this.#sendAppend(target);
    return { ok: true };
  }

  #proposalRefusal(): RefusalReason | null {
    if (this.#role !== 'leader') return 'notLeader';
    if (this.#transferee !== null) return 'transferring';
    if (this.#log.lastIndex() - this.#log.committed >= this.#config.uncommittedEntriesMax) return 'tooManyUncommitted';
    return null;
  }

  #appendEntry(type: Entry['type'], data: Uint8Array): Entry {
    const entry: Entry = { index: this.#log.lastIndex() + 1, term: this.#term, type, data };
    this.#log.append([entry]);
    this.#broadcastAppend();
    return entry;
  }

  /** Our own log write is durable up to persisted: count it, maybe commit. */
  #leaderPersisted(): void {
    const self = this.#progress.get(this.#id);
    if (self !== undefined) self.match = Math.max(self.match, this.#log.persisted);
    if (this.#maybeCommit()) this.#broadcastAppend();
  }

  /** Paper §5.4.2: commit the majority index only if it is an entry of our term. */
  #maybeCommit(): boolean {
    const voters = this.#confs.current().voters;
    const matches = voters.map((id) => this.#progress.get(id)?.match ?? 0);
    const index = majorityIndex(matches);
    if (index <= this.#log.committed || this.#log.term(index) !== this.#term) return false;
    this.#log.commitTo(index);
    this.#releasePendingReads();
    return true;
  }

  #releasePendingReads(): void {
    if (this.#pendingReads.length === 0 || !this.#committedInCurrentTerm()) return;
    const pending = this.#pendingReads;
    this.#pendingReads = [];
    let queued = false;
    for (const request of pending) queued = this.#handleReadIndex(request.context, request.from, false) || queued;
    // One heartbeat round confirms the whole batch (its last context acks every earlier read).
    if (queued) this.#broadcastHeartbeat(this.#readOnly.lastContext());
  }

  #broadcastAppend(): void {
    for (const id of this.#progress.keys()) if (id !== this.#id) this.#sendAppendWhileOpen(id);
  }

  #sendAppendWhileOpen(to: NodeId): void {
    for (let i = 0; i < this.#config.inflightMessagesMax && this.#sendAppend(to, i > 0); i++) {
      // keep filling the window while there is something new to send
    }
  }

  /** Send the next append (or a snapshot) to `to`; returns whether an append with entries went out. */
  #sendAppend(to: NodeId, onlyWithEntries = false): boolean {
    const progress = this.#progress.get(to);
    if (progress === undefined || progress.isPaused()) return false;
    const prevIndex = progress.next - 1;
    const prevTerm = this.#log.term(prevIndex);
    const entries = this.#log.sliceLimited(progress.next, this.#config.appendEntriesMax, this.#config.appendBytesMax);
    if (prevTerm === undefined || entries === undefined) {
      this.#sendSnapshot(to, progress);
      return false;
    }
    if (onlyWithEntries && entries.length === 0) return false;
    this.#send({ type: 'append', to, term: this.#term, prevIndex, prevTerm, entries, commit: this.#log.committed });
    if (progress.state === 'replicate' && entries.length > 0) {
      const last = entries[entries.length - 1].index;
      progress.next = last + 1;
      progress.inflights.add(last);
    } else if (progress.state === 'probe') {
      progress.probeSent = true;
    }
    return entries.length > 0;
  }

  #sendSnapshot(to: NodeId, progress: Progress): void {
    const snapshot = this.#snapshot;
    assert(snapshot !== null, 'log was compacted without a snapshot');
    progress.becomeSnapshot(snapshot.index);
    this.#send({ type: 'snapshot', to, term: this.#term, snapshot });
  }

  #broadcastHeartbeat(context: string | null): void {
    for (const [id, progress] of this.#progress) {
      if (id === this.#id) continue;
      const commit = Math.min(progress.match, this.#log.committed);
      this.#send({ type: 'heartbeat', to: id, term: this.#term, commit, context });
    }
  }

  // ---- membership --------------------------------------------------------------

  #applyConfEntry(entry: Entry): void {
    if (entry.type !== 'confChange') return;
    let change: ConfChange;
    try {
      change = decodeConfChange(entry.data);
    } catch {
      return; // Undecodable entries are ignored identically on every replica.
    }
    const conf = this.#confs.current();
    if (confChangeProblem(conf, change) !== null) return;
    const next = applyConfChange(conf, change);
    this.#confs.record(entry.index, next);
    if (this.#role === 'leader') this.#leaderConfChanged(change, next);
  }

  #leaderConfChanged(change: ConfChange, next: { voters: readonly NodeId[]; learners: readonly NodeId[] }): void {
    if (!isMember(next, this.#id) || (change.type === 'remove' && change.node === this.#id)) {
      // etcd#11038: a leader that removed itself steps down instead of heartbeating on.
      this.#becomeFollower(this.#term, null);
      return;
    }
    if (change.type === 'addLearner') this.#addProgress(change.node, true);
    else if (change.type === 'promote') {
      const p = this.#progress.get(change.node);
      if (p !== undefined) p.learner = false;
    } else {
      this.#progress.delete(change.node);
      if (this.#transferee === change.node) this.#transferee = null;
    }
    if (this.#maybeCommit()) this.#broadcastAppend();
  }

  // ---- plumbing ----------------------------------------------------------------

  #send(message: DistributiveOmit<Message, 'from'>): void {
    this.#messages.push({ ...message, from: this.#id } as Message);
  }

  #hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed };
  }

  #softState(): SoftState {
    return { role: this.#role, leader: this.#leader };
  }
}

type CampaignKind = 'preElection' | 'election' | 'transfer';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}
