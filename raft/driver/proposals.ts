// Proposals waiting to be applied. A proposal is identified by (index, term):
// when index is applied with that term it succeeded; when index is applied with
// another term it was superseded by another leader and definitely did not apply;
// when neither happens in time the outcome is unknown (redisraft#23).

import type { Entry } from '../core/types.js';
import { RaftError } from '../node-api.js';

interface Waiter {
  readonly term: number;
  readonly resolve: (value: { index: number; result: unknown }) => void;
  readonly reject: (error: RaftError) => void;
  readonly timer: NodeJS.Timeout;
}

export class PendingProposals {
  readonly #waiters = new Map<number, Waiter>();

  get size(): number {
    return this.#waiters.size;
  }

  wait(index: number, term: number, timeoutMs: number): Promise<{ index: number; result: unknown }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(index);
        reject(new RaftError('CONCORD_ERR_OUTCOME_UNKNOWN',
          `entry ${index} was not applied within ${timeoutMs} ms; it may still commit`));
      }, timeoutMs);
      timer.unref();
      this.#waiters.set(index, { term, resolve, reject, timer });
    });
  }

  /** Settle waiters for entries just applied, in order, with the state machine's results. */
  applied(entries: readonly Entry[], results: readonly unknown[]): void {
    if (this.#waiters.size === 0) return;
    entries.forEach((entry, i) => {
      const waiter = this.#waiters.get(entry.index);
      if (waiter === undefined) return;
      this.#waiters.delete(entry.index);
      clearTimeout(waiter.timer);
      if (waiter.term === entry.term) waiter.resolve({ index: entry.index, result: results[i] });
      else waiter.reject(new RaftError('CONCORD_ERR_PROPOSAL_DROPPED',
        `entry ${entry.index} was replaced by term ${entry.term}; the proposal was not applied`));
    });
  }

  /** A snapshot jumped past these indexes: we cannot tell what happened to them. */
  skippedTo(index: number): void {
    for (const [waitIndex, waiter] of this.#waiters) {
      if (waitIndex > index) continue;
      this.#waiters.delete(waitIndex);
      clearTimeout(waiter.timer);
      waiter.reject(new RaftError('CONCORD_ERR_OUTCOME_UNKNOWN',
        `entry ${waitIndex} was covered by an installed snapshot; outcome unknown`));
    }
  }

  failAll(error: RaftError): void {
    for (const waiter of this.#waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#waiters.clear();
  }
}
