// Many small lists of integers, one per numbered slot, without an object per list:
// a slot keeps up to INLINE values in one shared Int32Array; a list that grows past
// that moves, whole, to an array of its own (kept until the slot is cleared). Order
// within a list is insertion order; removal keeps the order of the rest.

/** Values a slot keeps inline; the chunk table's default replication factor (3) plus one in flight. */
export const INLINE = 4;
/** `#lengths` value of a slot whose list lives in `#overflow`. */
const MOVED = 255;

export class SlotLists {
  #lengths = new Uint8Array(0);
  #values = new Int32Array(0);
  readonly #overflow = new Map<number, number[]>();

  /** Slots 0 … capacity − 1 can be used. */
  get capacity(): number {
    return this.#lengths.length;
  }

  /** Make slots 0 … slots − 1 usable (new ones empty); grows by at least half to keep appends amortised O(1). */
  reserve(slots: number): void {
    if (slots <= this.#lengths.length) return;
    const capacity = Math.max(slots, Math.ceil(this.#lengths.length * 1.5));
    const lengths = new Uint8Array(capacity);
    lengths.set(this.#lengths);
    const values = new Int32Array(capacity * INLINE);
    values.set(this.#values);
    this.#lengths = lengths;
    this.#values = values;
  }

  length(slot: number): number {
    const n = this.#lengths[slot];
    return n === MOVED ? this.#overflow.get(slot)!.length : n;
  }

  /** The i-th value of the slot's list (0 ≤ i < length). */
  at(slot: number, i: number): number {
    return this.#lengths[slot] === MOVED ? this.#overflow.get(slot)![i] : this.#values[slot * INLINE + i];
  }

  set(slot: number, i: number, value: number): void {
    if (this.#lengths[slot] === MOVED) this.#overflow.get(slot)![i] = value;
    else this.#values[slot * INLINE + i] = value;
  }

  push(slot: number, value: number): void {
    const n = this.#lengths[slot];
    if (n === MOVED) {
      this.#overflow.get(slot)!.push(value);
    } else if (n < INLINE) {
      this.#values[slot * INLINE + n] = value;
      this.#lengths[slot] = n + 1;
    } else {
      const list = Array.from(this.#values.subarray(slot * INLINE, slot * INLINE + n));
      list.push(value);
      this.#overflow.set(slot, list);
      this.#lengths[slot] = MOVED;
    }
  }

  /** Remove the i-th value; the values after it move up one place. */
  removeAt(slot: number, i: number): void {
    const n = this.#lengths[slot];
    if (n === MOVED) {
      this.#overflow.get(slot)!.splice(i, 1);
      return;
    }
    const base = slot * INLINE;
    this.#values.copyWithin(base + i, base + i + 1, base + n);
    this.#lengths[slot] = n - 1;
  }

  /** Empty the slot's list (and give back its overflow array). */
  clear(slot: number): void {
    if (this.#lengths[slot] === MOVED) this.#overflow.delete(slot);
    this.#lengths[slot] = 0;
  }
}
