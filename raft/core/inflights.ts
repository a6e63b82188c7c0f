// The in-flight window of one follower in replicate state: the last index of
// each append sent and not yet acknowledged, oldest first. Bounded by count
// (inflightMessagesMax) so a slow follower cannot make the leader buffer without
// limit. Leaf module.

/** Bounded FIFO of the last index of each in-flight append. */
export class Inflights {
  readonly #capacity: number;
  #items: number[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get count(): number {
    return this.#items.length;
  }

  full(): boolean {
    return this.#items.length >= this.#capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new RangeError('inflight window is full');
    this.#items.push(lastIndex);
  }

  /** Everything up to and including `index` was acknowledged. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.#items.length && this.#items[n] <= index) n++;
    if (n > 0) this.#items = this.#items.slice(n);
  }

  freeFirst(): void {
    this.#items = this.#items.slice(1);
  }

  reset(): void {
    this.#items = [];
  }
}
