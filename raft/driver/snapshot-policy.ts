// When to snapshot: once `threshold` entries were applied since the last
// snapshot (taken or installed), and never two at a time.

export class SnapshotPolicy {
  readonly threshold: number;
  /** Entries kept behind a snapshot so slow followers catch up by log, not snapshot. */
  readonly tailEntries: number;
  #lastIndex: number;
  inProgress = false;

  constructor(options: { threshold: number; tailEntries: number; lastIndex: number }) {
    if (!Number.isInteger(options.threshold) || options.threshold < 1) {
      throw new RangeError(`snapshot threshold must be a positive integer, got ${options.threshold}`);
    }
    if (!Number.isInteger(options.tailEntries) || options.tailEntries < 0) {
      throw new RangeError(`snapshot tail must be a non-negative integer, got ${options.tailEntries}`);
    }
    this.threshold = options.threshold;
    this.tailEntries = options.tailEntries;
    this.#lastIndex = options.lastIndex;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  due(applied: number): boolean {
    return !this.inProgress && applied - this.#lastIndex >= this.threshold;
  }

  taken(index: number): void {
    if (index > this.#lastIndex) this.#lastIndex = index;
  }
}
