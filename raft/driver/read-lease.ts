// The leader lease behind `?consistency=lease` reads (thesis §6.4.1). A ReadIndex round
// this leader started at time t and a majority answered means each answering voter
// heard from it at or after t, and a voter ignores candidates for electionTicksMin
// ticks after hearing from its leader (CheckQuorum's lease in the core; a restarted
// voter does the same after its start). So no other leader can be elected before
// t + (electionTicksMin − 1) ticks: until then this node's commit index covers every
// acknowledged write, and a read needs no round. The lease is shortened by the clock
// drift it tolerates, and never held in a term in which this leader sent TimeoutNow
// (a transfer's vote overrides the voters' lease). Times are monotonic milliseconds
// (performance.now()), so a stalled event loop only ends the lease sooner.

/** Clock rates of any two nodes differ by less than this fraction. */
export const LEASE_DRIFT = 0.1;

export class ReadLease {
  #term = -1;
  #until = 0;
  #barredTerm = -1;

  /** `durationMs`: how long after a confirmed round's start no other leader can exist. */
  constructor(private readonly durationMs: number) {}

  /** A lease from ticks: voters wait `electionTicksMin` ticks of `tickMs` (the first one may come at once), less the drift. */
  static forTicks(tickMs: number, electionTicksMin: number): ReadLease {
    return new ReadLease(Math.max(0, (electionTicksMin - 1) * tickMs * (1 - LEASE_DRIFT)));
  }

  /** A ReadIndex round this node started at `startedAt` as leader of `term` was confirmed by a majority. */
  confirmed(term: number, startedAt: number): void {
    if (term === this.#barredTerm) return;
    const until = startedAt + this.durationMs;
    if (term !== this.#term) {
      this.#term = term;
      this.#until = until;
    } else {
      this.#until = Math.max(this.#until, until);
    }
  }

  /** This node sent TimeoutNow in `term`: no lease for the rest of that term. */
  bar(term: number): void {
    this.#barredTerm = term;
    if (this.#term === term) this.#until = 0;
  }

  /** Milliseconds the lease still runs for a leader of `term` at `now` (0: none). */
  remainingMs(term: number, now: number): number {
    if (term !== this.#term || term === this.#barredTerm) return 0;
    return Math.max(0, this.#until - now);
  }
}
