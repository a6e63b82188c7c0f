// Ids the server makes (nodes, tasks, files) are UUIDv7 (RFC 9562 §5.7): 48 bits of Unix
// time in milliseconds, the version, 12 random bits, the variant, 62 random bits. They sort
// by creation time to the millisecond (within one at random, and across a leader change
// as the clocks agree), so a new id lands at the end of every structure ordered by id (the
// placement order among nodes with the same free space, a listing by id) instead of at a
// random place, where each probe of a search among tens of thousands of entries missed
// the cache. 74 random bits a millisecond keep them unique.
import { randomFillSync } from 'node:crypto';

/** Random bytes taken 10 per id from a pool refilled in one call (randomUUID pools the same way). */
const POOL_BYTES = 10 * 512;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const TIME_MAX = 2 ** 48 - 1;
const bytes = Buffer.alloc(16);
/** Where each of the 16 bytes' two hex digits go in the 36-character text. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/** A UUIDv7 for time `now` (ms since the Unix epoch, an integer within 48 bits). */
export function uuidV7(now: number = Date.now()): string {
  if (!Number.isSafeInteger(now) || now < 0 || now > TIME_MAX) throw new RangeError(`uuidV7: time ${now} is not a 48-bit millisecond count`);
  if (used + 10 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  bytes.writeUIntBE(now, 0, 6);
  pool.copy(bytes, 6, used, used + 10);
  used += 10;
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  for (let i = 0; i < 16; i++) {
    text[AT[i]] = HEX_DIGITS[bytes[i] >> 4];
    text[AT[i] + 1] = HEX_DIGITS[bytes[i] & 0x0f];
  }
  // One flat one-byte string (a concatenation would leave a rope to flatten at the first Map lookup).
  return text.toString('latin1');
}
