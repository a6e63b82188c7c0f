// The leader's view of one follower (thesis §3.5 nextIndex/matchIndex) plus
// flow control: probe (one append in flight until an answer), replicate
// (pipelined up to a window of in-flight appends), snapshot (waiting for an
// install to finish). Leaf module.

import type { ProgressState } from './api.js';
import { Inflights } from './inflights.js';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe: an append is outstanding; wait for its answer or a heartbeat answer. */
  probeSent = false;
  /** Snapshot state: the index of the snapshot being installed. */
  pendingSnapshot = 0;
  recentActive = false;
  ticksSinceContact = 0;
  learner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, inflightMax: number, learner: boolean) {
    this.next = next;
    this.inflights = new Inflights(inflightMax);
    this.learner = learner;
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** The follower acknowledged up to `index`; returns whether anything moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * The follower rejected an append at `rejected`; `nextProbe` is where the
   * leader computed the logs may match. Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: number, nextProbe: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, nextProbe + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** May the leader send another append now? */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
