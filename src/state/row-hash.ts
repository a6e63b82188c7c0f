// The 64-bit hash of one (table, key, row) that state checksums XOR together. It walks the
// row (plain JSON values, as zod and JSON.parse make them: no boxed primitives, no bigint)
// as JSON.stringify would write it, without writing it, as a sequence of units:
// - a string: a tag, its length, its UTF-16 units;
// - a safe integer: a tag, its low and high 32 bits (-0 as 0); another finite number: a
//   tag of its own, its float64 bits in a fixed byte order; a non-finite one: null;
// - null, true, false: a tag each;
// - an array: a tag, its length, its items;
// - an object: a tag, its fields (key, value) in their own order, a closing tag, the count.
// Undefined fields are left out and `toJSON()` is followed (a FileRecord hashes as its plain
// row), as in JSON. Every value says where it ends, so no value can pass for a run of
// others ("a","b" is not "a\"\"b"), and rows with the same JSON text (a row read back from
// DuckDB rebuilds the same JSON) hash alike. Two lanes of a multiply-xor hash, each step a
// bijection of the lane (a single changed unit always changes both lanes), and a final
// avalanche. Not cryptographic. Schema versions before 6 used SHA-256 of the JSON text
// (legacy-row-hash.ts); this takes about a third of its time and allocates nothing.

const TAG_STRING = 0x22;
const TAG_INTEGER = 0x23;
const TAG_FLOAT = 0x2e;
const TAG_NULL = 0x6e;
const TAG_TRUE = 0x74;
const TAG_FALSE = 0x66;
const TAG_ARRAY_OPEN = 0x5b;
const TAG_OBJECT_OPEN = 0x7b;
const TAG_OBJECT_CLOSE = 0x7d;
const TWO_32 = 4_294_967_296;

const floatBits = new DataView(new ArrayBuffer(8));

/** What JSON.stringify writes for `v`: the result of its `toJSON()` if it has one. */
const jsonView = (v: unknown): unknown =>
  (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON(): unknown }).toJSON() : v);

class Lanes {
  a = 0x811c9dc5;
  b = 0x2545f491;

  mix(unit: number): void {
    this.a = Math.imul(this.a ^ unit, 0x01000193);
    this.b = Math.imul(this.b ^ unit, 0x9e3779b1);
  }

  string(s: string): void {
    // Tag and length first: no string can pass for the end of one and the start of the next.
    this.mix(TAG_STRING);
    this.mix(s.length);
    // The lanes in locals for the loop: a field store of a value past 2^30 would box it each time.
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < s.length; i++) {
      const unit = s.charCodeAt(i);
      a = Math.imul(a ^ unit, 0x01000193);
      b = Math.imul(b ^ unit, 0x9e3779b1);
    }
    this.a = a;
    this.b = b;
  }

  number(n: number): void {
    if (!Number.isFinite(n)) {
      this.mix(TAG_NULL); // as JSON.stringify writes it
      return;
    }
    if (Number.isSafeInteger(n)) {
      this.mix(TAG_INTEGER);
      this.mix(n >>> 0); // -0 >>> 0 is 0, like JSON's "0"
      this.mix(Math.floor(n / TWO_32) | 0);
    } else {
      // A tag of its own: a tiny float's bits could otherwise read as a small integer's words.
      this.mix(TAG_FLOAT);
      floatBits.setFloat64(0, n, true);
      this.mix(floatBits.getUint32(0, true));
      this.mix(floatBits.getUint32(4, true));
    }
  }

  /** A value as JSON.stringify meets it: its `toJSON()` taken first (once), then written as it is. */
  value(v: unknown): void {
    this.plain(jsonView(v));
  }

  plain(v: unknown): void {
    switch (typeof v) {
      case 'string': this.string(v); return;
      case 'number': this.number(v); return;
      case 'boolean': this.mix(v ? TAG_TRUE : TAG_FALSE); return;
      case 'object': break;
      default: this.mix(TAG_NULL); return; // undefined, a function or a symbol as an array element: JSON's null
    }
    if (v === null) {
      this.mix(TAG_NULL);
    } else if (Array.isArray(v)) {
      this.mix(TAG_ARRAY_OPEN);
      this.mix(v.length);
      for (const item of v) this.value(item);
    } else {
      this.mix(TAG_OBJECT_OPEN);
      const record = v as Record<string, unknown>;
      let fields = 0;
      for (const key of Object.keys(record)) {
        const field = jsonView(record[key]);
        if (field === undefined || typeof field === 'function' || typeof field === 'symbol') continue; // JSON leaves these fields out
        this.string(key);
        this.plain(field);
        fields++;
      }
      this.mix(TAG_OBJECT_CLOSE);
      this.mix(fields);
    }
  }

  digest(): bigint {
    let a = this.a ^ (this.b >>> 15);
    a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
    a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
    a ^= a >>> 16;
    let b = this.b ^ (a >>> 13);
    b = Math.imul(b ^ (b >>> 16), 0x85ebca6b);
    b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
    b ^= b >>> 16;
    return (BigInt(a >>> 0) << 32n) | BigInt(b >>> 0);
  }
}

/** The row hash of `row` under `key` in `table` (see above). */
export function rowHash(table: string, key: string, row: unknown): bigint {
  const lanes = new Lanes();
  lanes.string(table);
  lanes.string(key);
  lanes.value(row);
  return lanes.digest();
}
