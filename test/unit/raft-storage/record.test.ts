import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../raft/storage/crc32c.js';
import { HEADER_BYTES, encodeEntry, encodeHardState, readRecord } from '../../../raft/storage/record.js';
import { entry } from './helpers.js';

describe('WAL record framing (README format)', () => {
  it('is [length u32][type u8][crc32c(type ++ payload) u32][payload], little-endian', () => {
    const bytes = encodeEntry(entry(7, 3, 'hello'));
    const length = bytes.readUInt32LE(0);
    expect(length).toBe(17 + 5);
    expect(bytes.length).toBe(HEADER_BYTES + length);
    expect(bytes.readUInt8(4)).toBe(1);
    const payload = bytes.subarray(HEADER_BYTES);
    expect(bytes.readUInt32LE(5)).toBe(crc32c(Buffer.concat([Buffer.of(1), payload])));
    expect(payload.readDoubleLE(0)).toBe(7);
    expect(payload.readDoubleLE(8)).toBe(3);
    expect(payload.subarray(17).toString()).toBe('hello');
  });

  it('reads back what it wrote and flags torn and corrupt records', () => {
    const both = Buffer.concat([encodeHardState({ term: 5, vote: 'n1', commit: 4 }), encodeEntry(entry(1, 5))]);
    const first = readRecord(both, 0);
    expect(first).toMatchObject({ kind: 'record', record: { hardState: { term: 5, vote: 'n1', commit: 4 } } });
    const next = first.kind === 'record' ? first.next : -1;
    expect(readRecord(both, next)).toMatchObject({ kind: 'record', record: { entry: { index: 1, term: 5 } } });
    expect(readRecord(both.subarray(0, both.length - 1), next)).toEqual({ kind: 'torn' });
    const flipped = Buffer.from(both);
    flipped[HEADER_BYTES + 2] ^= 1;
    expect(readRecord(flipped, 0)).toMatchObject({ kind: 'corrupt', reason: 'checksum mismatch' });
  });
});
