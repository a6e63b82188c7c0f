// Chunk hashes as the model keeps them in memory. A lowercase 64-digit hex hash (a
// SHA-256, the usual case) is packed two digits per character: 32 one-byte characters,
// 48 bytes as a V8 string instead of 80. Any other hash is kept as it is, with a
// \u0001 in front when it has 32 characters or more, so that only packed keys have
// exactly 32: `hashOf(keyOf(h)) === h` for every string h, and keyOf is one-to-one.

const PACKED_LENGTH = 32;
const RAW_MARK = '\u0001';
const DIGITS = '0123456789abcdef';
/** Digit value by character code, -1 for anything but 0-9 a-f. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < DIGITS.length; i++) VALUE[DIGITS.charCodeAt(i)] = i;

const bytes: number[] = new Array<number>(PACKED_LENGTH);
const digits: number[] = new Array<number>(2 * PACKED_LENGTH);

/**
 * The last hash packed and its key: placing one chunk of a file registration asks for
 * its key several times in a row (size, holders, each replica set); across a file's
 * chunks, each is still packed once per pass over them.
 */
let lastHash = '';
let lastKey = '';

export function keyOf(hash: string): string {
  if (hash.length !== 2 * PACKED_LENGTH) return hash.length < PACKED_LENGTH ? hash : RAW_MARK + hash;
  if (hash === lastHash) return lastKey;
  const key = pack(hash) ? String.fromCharCode(...bytes) : RAW_MARK + hash;
  lastHash = hash;
  lastKey = key;
  return key;
}

export function hashOf(key: string): string {
  if (key.length !== PACKED_LENGTH) return key.length < PACKED_LENGTH ? key : key.slice(1);
  for (let i = 0; i < PACKED_LENGTH; i++) {
    const byte = key.charCodeAt(i);
    digits[2 * i] = DIGITS.charCodeAt(byte >> 4);
    digits[2 * i + 1] = DIGITS.charCodeAt(byte & 15);
  }
  return String.fromCharCode(...digits);
}

/** Fill `bytes` from a 64-character hash; false if it is not all lowercase hex digits. */
function pack(hash: string): boolean {
  for (let i = 0; i < PACKED_LENGTH; i++) {
    const high = hash.charCodeAt(2 * i);
    const low = hash.charCodeAt(2 * i + 1);
    const value = (high < 128 ? VALUE[high] << 4 : -1) | (low < 128 ? VALUE[low] : -1);
    if (value < 0) return false;
    bytes[i] = value;
  }
  return true;
}
