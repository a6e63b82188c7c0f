// Membership rules for single-server changes (thesis §4.1): validation of one
// ConfChange against a ConfState, applying it, and the history of ConfStates by
// log index so a snapshot at index i records the membership in force at i.
// Leaf module.

import type { ConfChange, ConfState, NodeId } from './types.js';

/** Why `change` cannot apply to `conf`, or null when it can. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | null {
  const isVoter = conf.voters.includes(change.node);
  const isLearner = conf.learners.includes(change.node);
  switch (change.type) {
    case 'addLearner':
      return isVoter || isLearner ? `${change.node} is already a member` : null;
    case 'promote':
      return isLearner ? null : `${change.node} is not a learner`;
    case 'remove':
      if (!isVoter && !isLearner) return `${change.node} is not a member`;
      if (isVoter && conf.voters.length === 1) return 'cannot remove the last voter';
      return null;
  }
}

export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const without = (list: readonly NodeId[]) => list.filter((id) => id !== change.node);
  switch (change.type) {
    case 'addLearner':
      return { voters: [...conf.voters], learners: [...conf.learners, change.node].sort() };
    case 'promote':
      return { voters: [...conf.voters, change.node].sort(), learners: without(conf.learners) };
    case 'remove':
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/** ConfStates by the index at which they took effect. */
export class ConfHistory {
  #base: ConfState;
  #changes: { index: number; conf: ConfState }[] = [];

  constructor(base: ConfState) {
    this.#base = base;
  }

  current(): ConfState {
    return this.#changes.length > 0 ? this.#changes[this.#changes.length - 1].conf : this.#base;
  }

  record(index: number, conf: ConfState): void {
    this.#changes.push({ index, conf });
  }

  /** Membership in force after applying index `index`. */
  at(index: number): ConfState {
    let conf = this.#base;
    for (const change of this.#changes) {
      if (change.index > index) break;
      conf = change.conf;
    }
    return conf;
  }

  /** Forget changes at or below `index` (folded into the base). */
  compact(index: number): void {
    this.#base = this.at(index);
    this.#changes = this.#changes.filter((c) => c.index > index);
  }

  reset(conf: ConfState): void {
    this.#base = conf;
    this.#changes = [];
  }
}
