// Chunk hash → slot number, with no string kept per chunk. A lowercase 64-digit hex
// hash (a SHA-256, the usual case) is kept as 8 uint32 words at its slot in one typed
// array and found through an open-addressing table (linear probing, a power-of-two
// size at most half full, backward-shift deletion); any other hash string is kept in a
// Map beside it. The gain is memory (no 48–80-byte string per chunk, nothing for the
// collector to trace); speed is about a Map's: at a million replicas either costs
// ~300–400 ns per lookup, mostly memory latency (here a hex parse and a probe that
// compares 8 words). A bulk load hands hashes over as bytes (`addBytes`), which skips
// the parse. Slot numbers are the caller's: it allocates them, and an entry lives until
// `delete`.

const WORDS = 8;
const HEX_LENGTH = 64;
/** Digit value by character code, -1 for anything but 0-9 a-f. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) VALUE['0123456789abcdef'.charCodeAt(i)] = i;
const DIGIT_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** The words of the hash being looked up. */
const scratch = new Uint32Array(WORDS);
const digits: number[] = new Array<number>(HEX_LENGTH);

/** Parse a 64-digit lowercase hex hash into `scratch`; false for any other string. */
function parse(hash: string): boolean {
  if (hash.length !== HEX_LENGTH) return false;
  for (let w = 0; w < WORDS; w++) {
    let word = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) {
      const code = hash.charCodeAt(i);
      const value = code < 128 ? VALUE[code] : -1;
      if (value < 0) return false;
      word = (word << 4) | value;
    }
    scratch[w] = word;
  }
  return true;
}

/**
 * Copy the 32 bytes at `bytes[offset …]` (a hash's binary form: what DuckDB's `unhex`
 * gives for the hex text) into `scratch`, as `parse` would have read the hex.
 */
function fromBytes(bytes: Uint8Array, offset: number): void {
  if (offset < 0 || offset + 4 * WORDS > bytes.length) throw new RangeError(`no 32-byte hash at offset ${offset} of ${bytes.length} bytes`);
  for (let w = 0, o = offset; w < WORDS; w++, o += 4) scratch[w] = (bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3];
}

/** A well-mixed 32-bit hash of `scratch` (test and real hashes need not be random). */
function mix(): number {
  let h = 0x9e3779b9;
  for (let w = 0; w < WORDS; w++) {
    h = Math.imul(h ^ scratch[w], 0x85ebca6b);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class ChunkIndex {
  /** Per slot: the hash's words (packed slots only). */
  #words = new Uint32Array(0);
  /** Per slot: `mix()` of its words, to rehash and shift without recomputing. */
  #mixes = new Uint32Array(0);
  /** Open-addressing table of slot + 1 (0 = empty). */
  #table = new Int32Array(16);
  #packed = 0;
  readonly #rawSlots = new Map<string, number>();
  readonly #rawBySlot = new Map<number, string>();

  /** Entries held. */
  get size(): number {
    return this.#packed + this.#rawSlots.size;
  }

  /** Make slots 0 … slots − 1 usable, and room for that many entries; grows by at least half to keep it amortised O(1). */
  reserve(slots: number): void {
    while (2 * slots > this.#table.length) this.#grow();
    if (slots <= this.#mixes.length) return;
    const capacity = Math.max(slots, Math.ceil(this.#mixes.length * 1.5), 16);
    const words = new Uint32Array(capacity * WORDS);
    words.set(this.#words);
    const mixes = new Uint32Array(capacity);
    mixes.set(this.#mixes);
    this.#words = words;
    this.#mixes = mixes;
  }

  /** The hash's slot, or -1. */
  get(hash: string): number {
    if (!parse(hash)) return this.#rawSlots.get(hash) ?? -1;
    const at = this.#find(mix());
    return at < 0 ? -1 : this.#table[at] - 1;
  }

  /**
   * The slot of the lowercase hex hash whose 32 bytes are at `bytes[offset …]` (a bulk
   * load hands hashes over so: no string, no hex to parse); if it is absent, enter it at
   * `slot` (reserved, not in use) and return `slot`. One probe finds or places it.
   */
  addBytes(bytes: Uint8Array, offset: number, slot: number): number {
    fromBytes(bytes, offset);
    if (2 * (this.#packed + 1) > this.#table.length) this.#grow();
    const m = mix();
    const table = this.#table;
    const mask = table.length - 1;
    let at = m & mask;
    for (; table[at] !== 0; at = (at + 1) & mask) {
      const entry = table[at];
      if (this.#mixes[entry - 1] === m && this.#sameWords(entry - 1)) return entry - 1;
    }
    this.#words.set(scratch, slot * WORDS);
    this.#mixes[slot] = m;
    table[at] = slot + 1;
    this.#packed++;
    return slot;
  }

  /** Enter `hash` (not present) at `slot` (reserved, not in use). */
  set(hash: string, slot: number): void {
    if (!parse(hash)) {
      this.#rawSlots.set(hash, slot);
      this.#rawBySlot.set(slot, hash);
      return;
    }
    if (2 * (this.#packed + 1) > this.#table.length) this.#grow();
    const m = mix();
    this.#words.set(scratch, slot * WORDS);
    this.#mixes[slot] = m;
    const mask = this.#table.length - 1;
    let at = m & mask;
    while (this.#table[at] !== 0) at = (at + 1) & mask;
    this.#table[at] = slot + 1;
    this.#packed++;
  }

  /** Remove the hash held at `slot`. */
  delete(slot: number): void {
    const raw = this.#rawBySlot.get(slot);
    if (raw !== undefined) {
      this.#rawBySlot.delete(slot);
      this.#rawSlots.delete(raw);
      return;
    }
    const mask = this.#table.length - 1;
    let at = this.#mixes[slot] & mask;
    while (this.#table[at] !== slot + 1) {
      if (this.#table[at] === 0) return;
      at = (at + 1) & mask;
    }
    // Backward shift: move up every later entry of the run that may sit at `at`.
    let next = at;
    for (;;) {
      next = (next + 1) & mask;
      const entry = this.#table[next];
      if (entry === 0) break;
      const home = this.#mixes[entry - 1] & mask;
      // Movable unless its home lies cyclically in (at, next].
      if ((next - home & mask) >= (next - at & mask)) {
        this.#table[at] = entry;
        at = next;
      }
    }
    this.#table[at] = 0;
    this.#packed--;
  }

  /** The hash held at `slot`. */
  hashAt(slot: number): string {
    const raw = this.#rawBySlot.get(slot);
    if (raw !== undefined) return raw;
    for (let w = 0; w < WORDS; w++) {
      const word = this.#words[slot * WORDS + w];
      for (let i = 0; i < 8; i++) digits[w * 8 + i] = DIGIT_CODES[(word >>> (28 - 4 * i)) & 15];
    }
    return String.fromCharCode(...digits);
  }

  /** Table position holding the words in `scratch` (whose mix is `m`), or -1. */
  #find(m: number): number {
    const mask = this.#table.length - 1;
    for (let at = m & mask; ; at = (at + 1) & mask) {
      const entry = this.#table[at];
      if (entry === 0) return -1;
      if (this.#mixes[entry - 1] === m && this.#sameWords(entry - 1)) return at;
    }
  }

  #sameWords(slot: number): boolean {
    const base = slot * WORDS;
    for (let w = 0; w < WORDS; w++) if (this.#words[base + w] !== scratch[w]) return false;
    return true;
  }

  #grow(): void {
    const old = this.#table;
    const table = new Int32Array(old.length * 2);
    const mask = table.length - 1;
    for (const entry of old) {
      if (entry === 0) continue;
      let at = this.#mixes[entry - 1] & mask;
      while (table[at] !== 0) at = (at + 1) & mask;
      table[at] = entry;
    }
    this.#table = table;
  }
}
