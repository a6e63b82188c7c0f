// The leader lease behind `?consistency=lease` reads (thesis §6.4.1). A ReadIndex round
// this leader started at time t and a majority answered means each answering voter
// heard from it at or after t, and under CheckQuorum a voter grants no vote for
// electionTicksMin ticks after hearing from its leader, whatever else happens to its
// term meanwhile (`ticksSinceLeader` in the core; a restarted voter does the same after
// its start). So no other leader can be elected before t + (electionTicksMin − 1) ticks:
// until then this node's commit index covers every acknowledged write, and a read needs
// no round. The lease is shortened by the clock drift it tolerates and a timer margin,
// and never held in a term in which this leader sent TimeoutNow (a transfer's vote
// overrides the voters' lease). It assumes every voter runs the same election timeout.
// Elapsed time is the larger of the monotonic clock's and the wall clock's: a stalled
// event loop ends the lease sooner, and so does a suspended machine (the monotonic
// clock stops during a suspend, the wall clock does not); a wall clock set back counts
// for nothing.

/** Clock rates of any two nodes differ by less than this fraction. */
export const LEASE_DRIFT = 0.1;
/** Timers fire up to ~1 ms early (whole-millisecond loop time): taken off every lease. */
export const LEASE_TIMER_MARGIN_MS = 2;

export class ReadLease {
  #term = -1;
  /** The confirmed round's start, on the monotonic clock and the wall clock. */
  #startMono = 0;
  #startWall = 0;
  #barredTerm = -1;

  /** `durationMs`: how long after a confirmed round's start no other leader can exist. */
  constructor(readonly durationMs: number) {}

  /** A lease from ticks: voters wait `electionTicksMin` ticks of `tickMs` (the first one may come at once), less drift and margin. */
  static forTicks(tickMs: number, electionTicksMin: number): ReadLease {
    return new ReadLease(Math.max(0, (electionTicksMin - 1) * tickMs * (1 - LEASE_DRIFT) - LEASE_TIMER_MARGIN_MS));
  }

  /**
   * A ReadIndex round this node started at `startedAt` (monotonic) as leader of `term`
   * was confirmed by a majority; `nowMono`/`nowWall`: the clocks now.
   */
  confirmed(term: number, startedAt: number, nowMono: number, nowWall: number): void {
    if (term === this.#barredTerm) return;
    if (term === this.#term && startedAt <= this.#startMono) return; // an older round answered late
    this.#term = term;
    this.#startMono = startedAt;
    this.#startWall = nowWall - (nowMono - startedAt);
  }

  /** This node sent TimeoutNow in `term`: no lease for the rest of that term. */
  bar(term: number): void {
    this.#barredTerm = term;
  }

  /** Milliseconds the lease still runs for a leader of `term` (0: none). */
  remainingMs(term: number, nowMono: number, nowWall: number): number {
    if (term !== this.#term || term === this.#barredTerm) return 0;
    const elapsed = Math.max(nowMono - this.#startMono, nowWall - this.#startWall);
    return Math.max(0, this.durationMs - elapsed);
  }
}
