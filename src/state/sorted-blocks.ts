// An ordered collection as a list of small sorted blocks: insert and remove move at
// most one block's worth of elements (a plain sorted array moves up to all of them,
// which dominated placement with 10,000+ nodes), and iteration in order is a walk.

const BLOCK_MAX = 256;

export class SortedBlocks<T> {
  readonly #blocks: T[][] = [];
  readonly #before: (a: T, b: T) => boolean;
  #size = 0;

  /** `before(a, b)`: a strict total order; equal items must be the same item. */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#size;
  }

  clear(): void {
    this.#blocks.length = 0;
    this.#size = 0;
  }

  insert(item: T): void {
    if (this.#blocks.length === 0) {
      this.#blocks.push([item]);
      this.#size = 1;
      return;
    }
    const tail = this.#blocks[this.#blocks.length - 1];
    if (this.#before(tail[tail.length - 1], item)) {
      // After everything held (a new node with a UUIDv7 id and the free space of the last
      // ones): one comparison instead of two binary searches through cold entries.
      tail.push(item);
      this.#size++;
      if (tail.length > BLOCK_MAX) this.#blocks.push(tail.splice(BLOCK_MAX >>> 1));
      return;
    }
    const b = this.#blockFor(item);
    const block = this.#blocks[b];
    block.splice(this.#positionIn(block, item), 0, item);
    this.#size++;
    if (block.length > BLOCK_MAX) this.#blocks.splice(b + 1, 0, block.splice(BLOCK_MAX >>> 1));
  }

  /** Removes `item` (found by the order); returns whether it was there. */
  remove(item: T): boolean {
    if (this.#blocks.length === 0) return false;
    const b = this.#blockFor(item);
    const block = this.#blocks[b];
    const at = this.#positionIn(block, item);
    if (at >= block.length || block[at] !== item) return false;
    block.splice(at, 1);
    this.#size--;
    if (block.length === 0) this.#blocks.splice(b, 1);
    return true;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const block of this.#blocks) yield* block;
  }

  /** Calls `visit` in order until it returns false. */
  forEachUntil(visit: (item: T) => boolean): void {
    for (const block of this.#blocks) {
      for (const item of block) if (!visit(item)) return;
    }
  }

  /** The first block whose last element does not come before `item` (else the last block). */
  #blockFor(item: T): number {
    let lo = 0;
    let hi = this.#blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.#blocks[mid];
      if (this.#before(block[block.length - 1], item)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #positionIn(block: readonly T[], item: T): number {
    let lo = 0;
    let hi = block.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#before(block[mid], item)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
