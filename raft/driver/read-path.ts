// The driver's read path: linearizable reads share ReadIndex rounds (reads.ts, one
// unanswered round at a time), and lease reads on a leader holding its read lease
// (read-lease.ts) are answered at its commit index without one. The Ready loop hands
// over the read states the core produced and every applied index; the path asks the
// core for rounds on its own, one event-loop turn after reads arrive or a round is answered.

import type { RaftStatus, ReadState, RefusalReason, RequestResult } from '../core/index.js';
import { RaftError } from '../node-api.js';
import { ReadLease } from './read-lease.js';
import { ReadBarriers } from './reads.js';

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
  readonly #lease: ReadLease;
  #kicked = false;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(host: ReadPathHost) {
    this.#host = host;
    this.#reads = new ReadBarriers(host.id, Date.now());
    this.#lease = ReadLease.forTicks(host.tickMs, host.electionTicksMin);
  }

  /** Reads waiting for a round or for their index to be applied. */
  get pending(): number {
    return this.#reads.pending;
  }

  /**
   * Resolves with a read index once this node has applied it. `lease`: a leader whose
   * read lease runs answers with its commit index at once; without a lease, and on
   * followers, the read takes a ReadIndex round like any other.
   */
  barrier(timeoutMs: number, lease: boolean): Promise<number> {
    if (this.#stopped) return Promise.reject(new RaftError('CONCORD_ERR_STOPPED', 'node is stopping'));
    if (lease) {
      const { role, term, commit } = this.#host.core.status();
      const now = performance.now();
      if (role === 'leader' && this.#lease.remainingMs(term, now, Date.now()) > 0) {
        this.#host.onLeaseRead?.();
        return this.#reads.at(commit, this.#host.appliedIndex(), timeoutMs);
      }
    }
    const barrier = this.#reads.enqueue(timeoutMs);
    this.#kick();
    return barrier;
  }

  /** The core answered rounds (its Ready's read states). */
  granted(readStates: readonly ReadState[]): void {
    if (readStates.length === 0) return;
    const applied = this.#host.appliedIndex();
    const { role, term } = this.#host.core.status();
    for (const read of readStates) {
      const round = this.#reads.granted(read.context, read.index, applied);
      // A majority confirmed this leader after the round started: its read lease runs from then.
      if (round !== null && role === 'leader' && round.term === term) this.#lease.confirmed(term, round.startedAt, performance.now(), Date.now());
    }
    // Reads that queued behind the answered round get the next one.
    this.#kick();
  }

  /** The state machine applied up to `index`. */
  applied(index: number): void {
    this.#reads.applied(index);
  }

  /** This node sent TimeoutNow in `term`: the target may be elected at once, whatever the voters' leases. */
  sentTimeoutNow(term: number): void {
    this.#lease.bar(term);
  }

  failAll(error: RaftError): void {
    this.#reads.failAll(error);
  }

  /** The node is stopping: no round starts from now on and new reads are refused; waiting ones are left to `failAll`. */
  halt(): void {
    this.#stopped = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
  }

  #kick(): void {
    if (this.#kicked) return;
    this.#kicked = true;
    setImmediate(() => this.#startRound());
  }

  #startRound(): void {
    this.#kicked = false;
    if (this.#stopped || this.#reads.queued === 0) return;
    const now = performance.now();
    const waitMs = this.#host.roundWaitMs;
    const context = this.#reads.startRound(now, waitMs, this.#host.core.status().term);
    if (context === null) {
      // Held back by an unanswered round: if no answer comes, try again once it is too old to wait for.
      const held = this.#reads.heldMs(now, waitMs);
      if (held > 0 && this.#retry === null) {
        this.#retry = setTimeout(() => { this.#retry = null; this.#kick(); }, Math.ceil(held));
        this.#retry.unref();
      }
      return;
    }
    this.#host.onReadRound?.();
    const result = this.#host.core.readIndex(context);
    if (!result.ok) this.#reads.refuse(context, this.#host.refusal(result.reason, result.leader));
    this.#host.schedule();
  }
}
