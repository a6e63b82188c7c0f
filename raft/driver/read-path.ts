// The driver's read path: linearizable reads share ReadIndex rounds (reads.ts, one
// unanswered round at a time), and lease reads on a leader holding its read lease
// (read-lease.ts) are answered at its commit index without one. A follower's lease
// reads share rounds of their own, whose contexts start with LEASE_MARK: a leader
// holding its lease answers those at once too (`answerFromLease`), where a linearizable
// round may need a heartbeat round (five voters). The Ready loop hands over the read
// states the core produced and every applied index; the path asks the core for rounds
// on its own, one event-loop turn after reads arrive or a round is answered.

import type { RaftStatus, ReadState, RefusalReason, RequestResult } from '../core/index.js';
import { RaftError } from '../node-api.js';
import { ReadLease } from './read-lease.js';
import { ReadBarriers } from './reads.js';

/** Start of the context of a follower's lease-read round ("|" is not allowed in node ids). */
export const LEASE_MARK = 'lease|';

/** What the read path needs of the node around it. */
export interface ReadPathHost {
  readonly id: string;
  readonly core: { status(): Pick<RaftStatus, 'role' | 'term' | 'commit'>; readIndex(context: string): RequestResult };
  appliedIndex(): number;
  /** The core may have messages to send: run the Ready loop. */
  schedule(): void;
  refusal(reason: RefusalReason, leader: string | null): RaftError;
  /** A round waits this long for its answer before reads queued behind it get their own. */
  readonly roundWaitMs: number;
  readonly tickMs: number;
  readonly electionTicksMin: number;
  readonly onReadRound?: () => void;
  readonly onLeaseRead?: () => void;
}

export class ReadPath {
  readonly #host: ReadPathHost;
  readonly #reads: ReadBarriers;
  /** A follower's lease reads: rounds the leader may answer from its lease. */
  readonly #leaseReads: ReadBarriers;
  readonly #lease: ReadLease;
  #kicked = false;
  /** Per queue: the timer that retries it once its unanswered round is too old to wait for. */
  readonly #retries = new Map<ReadBarriers, NodeJS.Timeout>();
  /** A round this leader started only to renew its lease is out. */
  #renewing = false;
  #stopped = false;

  constructor(host: ReadPathHost) {
    this.#host = host;
    this.#reads = new ReadBarriers(host.id, Date.now());
    this.#leaseReads = new ReadBarriers(LEASE_MARK + host.id, Date.now());
    this.#lease = ReadLease.forTicks(host.tickMs, host.electionTicksMin);
  }

  /** Reads waiting for a round or for their index to be applied. */
  get pending(): number {
    return this.#reads.pending + this.#leaseReads.pending;
  }

  /**
   * Resolves with a read index once this node has applied it. `lease`: a leader whose
   * read lease runs answers with its commit index at once; a leader without one takes a
   * ReadIndex round (which starts one); a follower takes a lease-read round, which its
   * leader answers from its lease if it holds one, else like any other.
   */
  barrier(timeoutMs: number, lease: boolean): Promise<number> {
    if (this.#stopped) return Promise.reject(new RaftError('CONCORD_ERR_STOPPED', 'node is stopping'));
    let reads = this.#reads;
    if (lease) {
      const { role, term, commit } = this.#host.core.status();
      if (role === 'leader' && this.#leased(term)) {
        this.#host.onLeaseRead?.();
        this.#renewSoon(term);
        return this.#reads.at(commit, this.#host.appliedIndex(), timeoutMs);
      }
      if (role !== 'leader') reads = this.#leaseReads;
    }
    const barrier = reads.enqueue(timeoutMs);
    this.#kick();
    return barrier;
  }

  /**
   * A follower's ReadIndex request (`context`, sent in `term`): the commit index to answer
   * it with at once, if it is a lease-read round and this node leads `term` holding its
   * lease (no other leader exists now, so the index covers every write acknowledged
   * before the follower's reads began); null: step it into the core as usual.
   */
  answerFromLease(context: string, term: number): number | null {
    if (!context.startsWith(LEASE_MARK)) return null;
    const status = this.#host.core.status();
    if (status.role !== 'leader' || status.term !== term) return null;
    // Followers' lease reads keep the lease going even when nothing reads on this node.
    this.#renewSoon(term);
    if (!this.#leased(term)) return null;
    this.#host.onLeaseRead?.();
    return status.commit;
  }

  #leased(term: number): boolean {
    return this.#lease.remainingMs(term, performance.now(), Date.now()) > 0;
  }

  /**
   * Lease reads are coming: if the lease has run out or has less than half of it left,
   * start a round of this leader's own (one at a time), whose confirmation renews it.
   */
  #renewSoon(term: number): void {
    if (this.#renewing || this.#stopped) return;
    if (this.#lease.remainingMs(term, performance.now(), Date.now()) * 2 > this.#lease.durationMs) return;
    this.#renewing = true;
    void this.barrier(this.#host.roundWaitMs * 4, false).catch(() => undefined).finally(() => { this.#renewing = false; });
  }

  /** The core answered rounds (its Ready's read states). */
  granted(readStates: readonly ReadState[]): void {
    if (readStates.length === 0) return;
    const applied = this.#host.appliedIndex();
    const { role, term } = this.#host.core.status();
    for (const read of readStates) {
      const round = this.#reads.granted(read.context, read.index, applied) ?? this.#leaseReads.granted(read.context, read.index, applied);
      // A majority confirmed this leader after the round started: its read lease runs from then.
      if (round !== null && role === 'leader' && round.term === term) this.#lease.confirmed(term, round.startedAt, performance.now(), Date.now());
    }
    // Reads that queued behind the answered round get the next one.
    this.#kick();
  }

  /** The state machine applied up to `index`. */
  applied(index: number): void {
    this.#reads.applied(index);
    this.#leaseReads.applied(index);
  }

  /** This node sent TimeoutNow in `term`: the target may be elected at once, whatever the voters' leases. */
  sentTimeoutNow(term: number): void {
    this.#lease.bar(term);
  }

  failAll(error: RaftError): void {
    this.#reads.failAll(error);
    this.#leaseReads.failAll(error);
  }

  /** The node is stopping: no round starts from now on and new reads are refused; waiting ones are left to `failAll`. */
  halt(): void {
    this.#stopped = true;
    for (const timer of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
  }

  #kick(): void {
    if (this.#kicked) return;
    this.#kicked = true;
    setImmediate(() => this.#startRound());
  }

  #startRound(): void {
    this.#kicked = false;
    if (this.#stopped) return;
    let started = false;
    for (const reads of [this.#reads, this.#leaseReads]) started = this.#startRoundOf(reads) || started;
    if (started) this.#host.schedule();
  }

  /** Start a round for `reads`' queue if it may; returns whether one started. */
  #startRoundOf(reads: ReadBarriers): boolean {
    if (reads.queued === 0) return false;
    const now = performance.now();
    const waitMs = this.#host.roundWaitMs;
    const context = reads.startRound(now, waitMs, this.#host.core.status().term);
    if (context === null) {
      // Held back by an unanswered round: if no answer comes, try again once it is too old to wait for.
      const held = reads.heldMs(now, waitMs);
      if (held > 0 && !this.#retries.has(reads)) {
        const timer = setTimeout(() => { this.#retries.delete(reads); this.#kick(); }, Math.ceil(held));
        timer.unref();
        this.#retries.set(reads, timer);
      }
      return false;
    }
    this.#host.onReadRound?.();
    const result = this.#host.core.readIndex(context);
    if (!result.ok) reads.refuse(context, this.#host.refusal(result.reason, result.leader));
    return true;
  }
}
