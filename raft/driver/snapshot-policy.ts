// When to snapshot: once `threshold` entries, or `thresholdBytes` of entry data, were
// applied since the last snapshot (taken or installed), and never two at a time. A
// snapshot costs about the size of the state (Concord copies its database), so one due
// by entries also waits until `paceFactor` times the last one's work (at most
// `paceMsMax`) has passed since it ended: under a steady write load the snapshots due
// by entries then take at most 1 / (paceFactor + 1) of the time however large the state
// grows, and the byte threshold, which is not paced, still bounds the log held
// meanwhile (about 64 MiB of entry data since the last snapshot, beside the tail). How
// much log to keep behind a snapshot: at most `tailEntries` entries and, of those, only
// the newest that fit in `tailBytesMax` (a count alone lets a log of large entries hold
// gigabytes in memory and on disk).

interface SnapshotPolicyOptions {
  readonly threshold: number;
  readonly tailEntries: number;
  readonly lastIndex: number;
  /** Default 64 MiB. */
  readonly thresholdBytes?: number;
  /** Default 64 MiB. */
  readonly tailBytesMax?: number;
  /** Default 9. */
  readonly paceFactor?: number;
  /** Default 60 s: a snapshot slowed by something else (a stuck disk) must not hold the next one back for long. */
  readonly paceMsMax?: number;
}

const SNAPSHOT_BYTES_DEFAULT = 64 * 1024 * 1024;
const PACE_FACTOR_DEFAULT = 9;
const PACE_MS_MAX_DEFAULT = 60_000;

export class SnapshotPolicy {
  readonly threshold: number;
  readonly thresholdBytes: number;
  /** Entries kept behind a snapshot so slow followers catch up by log, not snapshot. */
  readonly tailEntries: number;
  readonly tailBytesMax: number;
  readonly paceFactor: number;
  readonly paceMsMax: number;
  #lastIndex: number;
  /** Bytes counted when the snapshot under way started: counted again if it commits nothing. */
  #bytesAtStart = 0;
  /** performance.now() before which no snapshot is due by entries alone. */
  #pacedUntil = Number.NEGATIVE_INFINITY;
  /** Bytes of entry data applied since the last snapshot started or was installed. */
  #bytes = 0;
  inProgress = false;

  constructor(options: SnapshotPolicyOptions) {
    const { threshold, tailEntries, thresholdBytes = SNAPSHOT_BYTES_DEFAULT, tailBytesMax = SNAPSHOT_BYTES_DEFAULT, paceFactor = PACE_FACTOR_DEFAULT,
      paceMsMax = PACE_MS_MAX_DEFAULT } = options;
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new RangeError(`snapshot threshold must be a positive integer, got ${threshold}`);
    }
    if (!Number.isInteger(tailEntries) || tailEntries < 0) {
      throw new RangeError(`snapshot tail must be a non-negative integer, got ${tailEntries}`);
    }
    if (!Number.isSafeInteger(thresholdBytes) || thresholdBytes < 1) {
      throw new RangeError(`snapshot byte threshold must be a positive integer, got ${thresholdBytes}`);
    }
    if (!Number.isSafeInteger(tailBytesMax) || tailBytesMax < 0) {
      throw new RangeError(`snapshot tail bytes must be a non-negative integer, got ${tailBytesMax}`);
    }
    if (!Number.isFinite(paceFactor) || paceFactor < 0) {
      throw new RangeError(`snapshot pace factor must be a non-negative number, got ${paceFactor}`);
    }
    if (!Number.isFinite(paceMsMax) || paceMsMax < 0) {
      throw new RangeError(`snapshot pace limit must be a non-negative number, got ${paceMsMax}`);
    }
    this.paceFactor = paceFactor;
    this.paceMsMax = paceMsMax;
    this.threshold = threshold;
    this.thresholdBytes = thresholdBytes;
    this.tailEntries = tailEntries;
    this.tailBytesMax = tailBytesMax;
    this.#lastIndex = options.lastIndex;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  /** Entries of `bytes` data were applied. */
  applied(bytes: number): void {
    this.#bytes += bytes;
  }

  due(applied: number, nowMs = performance.now()): boolean {
    if (this.inProgress || applied <= this.#lastIndex) return false;
    if (this.#bytes >= this.thresholdBytes) return true;
    return applied - this.#lastIndex >= this.threshold && nowMs >= this.#pacedUntil;
  }

  /**
   * The snapshot under way ended at `endedAtMs` (taken, failed or dropped) after `workMs`
   * of its own work. One that committed nothing leaves the bytes it started with counted.
   */
  finished(workMs: number, endedAtMs: number): void {
    this.inProgress = false;
    this.#bytes += this.#bytesAtStart;
    this.#bytesAtStart = 0;
    this.#pacedUntil = endedAtMs + Math.min(this.paceMsMax, this.paceFactor * Math.max(0, workMs));
  }

  /** A snapshot of everything applied so far is being taken: what was applied is counted in it. */
  started(): void {
    this.inProgress = true;
    this.#bytesAtStart = this.#bytes;
    this.#bytes = 0;
  }

  taken(index: number): void {
    if (index > this.#lastIndex) this.#lastIndex = index;
    this.#bytesAtStart = 0;
  }

  /** A snapshot from the leader replaced the state: nothing applied since counts. */
  installed(index: number): void {
    this.taken(index);
    this.#bytes = 0;
  }

  /**
   * Entries to keep behind a snapshot, given the sizes of the entries up to its index,
   * newest last: the newest ones up to `tailEntries` whose data fits in `tailBytesMax`.
   */
  keep(sizesNewestLast: readonly number[]): number {
    let kept = 0;
    let bytes = 0;
    for (let i = sizesNewestLast.length - 1; i >= 0 && kept < this.tailEntries; i--) {
      bytes += sizesNewestLast[i];
      if (bytes > this.tailBytesMax) break;
      kept++;
    }
    return kept;
  }
}
