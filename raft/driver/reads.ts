// Linearizable read barriers (thesis §6.4). Reads share ReadIndex rounds: while one
// round is unanswered, reads queue and share the next, started once it is answered, so
// under load each heartbeat round confirms a whole batch instead of each turn of the
// event loop sending its own (a round unanswered for `waitMs`, e.g. lost with its
// message, stops holding the queue back: `heldMs` tells the driver when to try again). A round is requested after every read in its
// batch arrived, so the index it returns covers all of them.

import { RaftError } from '../node-api.js';

interface ReadWaiter {
  readonly resolve: (index: number) => void;
  readonly reject: (error: RaftError) => void;
  readonly timer: NodeJS.Timeout;
}

interface Round {
  readonly waiters: ReadWaiter[];
  /** Read index granted by the leader, once known. */
  index: number | null;
  readonly startedAt: number;
  /** The term this node was in when it started the round (for the leader's read lease). */
  readonly term: number;
}

export class ReadBarriers {
  #queued: ReadWaiter[] = [];
  readonly #rounds = new Map<string, Round>();
  #sequence = 0;
  readonly #prefix: string;

  constructor(nodeId: string, incarnation: number) {
    this.#prefix = `${nodeId}:${incarnation.toString(36)}:`;
  }

  /** Reads waiting for a round to start. */
  get queued(): number {
    return this.#queued.length;
  }

  get pending(): number {
    let n = this.#queued.length;
    for (const round of this.#rounds.values()) n += round.waiters.length;
    return n;
  }

  enqueue(timeoutMs: number): Promise<number> {
    return this.#wait(timeoutMs, (waiter) => this.#queued.push(waiter));
  }

  /**
   * A read whose index is already known (a leader holding its read lease): resolves once
   * `applied` reaches `index`, through `applied()`.
   */
  at(index: number, applied: number, timeoutMs: number): Promise<number> {
    if (applied >= index) return Promise.resolve(index);
    const context = `${this.#prefix}lease:${(this.#sequence++).toString(36)}`;
    // Granted already: its start and term are never read (they matter for unanswered rounds only).
    return this.#wait(timeoutMs, (waiter) => this.#rounds.set(context, { waiters: [waiter], index, startedAt: 0, term: -1 }));
  }

  #wait(timeoutMs: number, place: (waiter: ReadWaiter) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      const waiter: ReadWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#forget(waiter);
          reject(new RaftError('CONCORD_ERR_NO_LEADER', `read not ready within ${timeoutMs} ms (no read index from a leader, or not applied here yet)`));
        }, timeoutMs),
      };
      waiter.timer.unref();
      place(waiter);
    });
  }

  /**
   * Start a round for every queued read; returns its context, or null if none queued or
   * a round younger than `waitMs` is still unanswered (its answer starts the next one).
   */
  startRound(now: number, waitMs: number, term: number): string | null {
    if (this.#queued.length === 0 || this.heldMs(now, waitMs) > 0) return null;
    const context = this.#prefix + (this.#sequence++).toString(36);
    this.#rounds.set(context, { waiters: this.#queued, index: null, startedAt: now, term });
    this.#queued = [];
    return context;
  }

  /** How long queued reads are still held back by unanswered rounds younger than `waitMs` (0: not held). */
  heldMs(now: number, waitMs: number): number {
    let held = 0;
    for (const round of this.#rounds.values()) {
      if (round.index === null) held = Math.max(held, waitMs - (now - round.startedAt));
    }
    return held;
  }

  /** The core refused the round (not leader known...): fail its reads now. */
  refuse(context: string, error: RaftError): void {
    const round = this.#rounds.get(context);
    if (round === undefined) return;
    this.#rounds.delete(context);
    for (const waiter of round.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  /** The leader answered the round; returns when and in which term it was started (null: not a round of ours). */
  granted(context: string, index: number, applied: number): { startedAt: number; term: number } | null {
    const round = this.#rounds.get(context);
    if (round === undefined || round.index !== null) return null;
    round.index = index;
    this.applied(applied);
    return { startedAt: round.startedAt, term: round.term };
  }

  /** Release every granted round whose index is applied. */
  applied(applied: number): void {
    for (const [context, round] of this.#rounds) {
      if (round.index === null || round.index > applied) continue;
      this.#rounds.delete(context);
      for (const waiter of round.waiters) {
        clearTimeout(waiter.timer);
        waiter.resolve(round.index);
      }
    }
  }

  failAll(error: RaftError): void {
    for (const waiter of this.#queued) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#queued = [];
    for (const context of [...this.#rounds.keys()]) this.refuse(context, error);
  }

  #forget(target: ReadWaiter): void {
    this.#queued = this.#queued.filter((w) => w !== target);
    for (const round of this.#rounds.values()) {
      const at = round.waiters.indexOf(target);
      if (at >= 0) round.waiters.splice(at, 1);
    }
    for (const [context, round] of this.#rounds) {
      if (round.waiters.length === 0) this.#rounds.delete(context);
    }
  }
}
