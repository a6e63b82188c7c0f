// The peer codec round-trips every valid message and turns any malformed input
// into a TransportError, never anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry, Message } from '../../../raft/core/index.js';
import { VIEW_BUFFER_BYTES_MAX } from '../../../raft/transport/binary-append.js';
import { TransportError, decodeMessages, encodeMessages } from '../../../raft/transport/index.js';

const id = fc.constantFrom('n1', 'n2', 'n3');
const nat = fc.nat({ max: 1_000_000 });
const base = { from: id, to: id, term: nat };
const conf = fc.record({ voters: fc.array(id, { maxLength: 3 }), learners: fc.array(id, { maxLength: 2 }) });

const append = fc.record({ ...base, prevIndex: nat, prevTerm: nat, commit: nat,
  entries: fc.array(fc.record({ term: nat, type: fc.constantFrom('normal' as const, 'confChange' as const), data: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 5 }) })
  .map((m): Message => ({ type: 'append', ...m, entries: m.entries.map((e, i): Entry => ({ ...e, index: m.prevIndex + 1 + i })) }));

const message: fc.Arbitrary<Message> = fc.oneof(
  append,
  fc.record({ ...base, index: nat, reject: fc.boolean(), hintIndex: nat, hintTerm: nat }).map((m): Message => ({ type: 'appendResponse', ...m })),
  fc.record({ ...base, commit: nat, context: fc.option(fc.string({ minLength: 1, maxLength: 20 })) }).map((m): Message => ({ type: 'heartbeat', ...m })),
  fc.record({ ...base, context: fc.option(fc.string({ minLength: 1, maxLength: 20 })) }).map((m): Message => ({ type: 'heartbeatResponse', ...m })),
  fc.record({ ...base, kind: fc.constantFrom('vote' as const, 'preVote' as const), lastIndex: nat, lastTerm: nat, transfer: fc.boolean() })
    .map(({ kind, ...m }): Message => ({ type: kind, ...m })),
  fc.record({ ...base, kind: fc.constantFrom('voteResponse' as const, 'preVoteResponse' as const), reject: fc.boolean() })
    .map(({ kind, ...m }): Message => ({ type: kind, ...m })),
  fc.record({ ...base, snapshot: fc.record({ index: nat, term: nat, confState: conf }) }).map((m): Message => ({ type: 'snapshot', ...m })),
  fc.record(base).map((m): Message => ({ type: 'timeoutNow', ...m })),
  fc.record({ ...base, target: id }).map((m): Message => ({ type: 'transferLeader', ...m })),
  fc.record({ ...base, context: fc.string({ minLength: 1, maxLength: 20 }) }).map((m): Message => ({ type: 'readIndex', ...m })),
  fc.record({ ...base, context: fc.string({ minLength: 1, maxLength: 20 }), index: nat, reject: fc.boolean() })
    .map((m): Message => ({ type: 'readIndexResponse', ...m })),
);

function normalise(messages: readonly Message[]): unknown {
  return JSON.parse(JSON.stringify(messages, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));
}

describe('peer codec', () => {
  it('round-trips every valid message batch', () => {
    fc.assert(fc.property(fc.array(message, { maxLength: 8 }), (batch) => {
      expect(normalise(decodeMessages(encodeMessages(batch)))).toEqual(normalise(batch));
    }), { numRuns: 300 });
  });

  it('rejects random bytes with a TransportError only', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeMessages(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(TransportError);
      }
    }), { numRuns: 500 });
  });

  it('rejects well-formed JSON that is not a valid message', () => {
    const bad: unknown[] = [
      {}, [{ type: 'nope', from: 'a', to: 'b', term: 1 }], [{ type: 'vote', from: 'a', to: 'b', term: -1, lastIndex: 0, lastTerm: 0, transfer: false }],
      [{ type: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 5, term: 1, type: 'normal', data: '' }] }],
      [{ type: 'heartbeat', from: '', to: 'b', term: 1, commit: 0, context: null }],
      [{ type: 'appendResponse', from: 'a', to: 'b', term: 1, index: 1.5, reject: false, hintIndex: 0, hintTerm: 0 }],
    ];
    for (const value of bad) {
      const payload = Buffer.from(JSON.stringify(Array.isArray(value) ? value[0] : value));
      const header = Buffer.alloc(5);
      header.writeUInt32LE(payload.length, 1);
      expect(() => decodeMessages(Buffer.concat([header, payload]))).toThrow(TransportError);
    }
  });

  it('rejects truncated, padded or inconsistent binary append frames', () => {
    const good = encodeMessages([{ type: 'append', from: 'n1', to: 'n2', term: 2, prevIndex: 4, prevTerm: 2, commit: 3,
      entries: [{ index: 5, term: 2, type: 'normal', data: new Uint8Array([1, 2, 3]) }] }]);
    expect(decodeMessages(good)).toHaveLength(1);
    for (let cut = 1; cut < good.length; cut++) expect(() => decodeMessages(good.subarray(0, cut))).toThrow(TransportError);
    const padded = Buffer.concat([good, Buffer.from([0])]);
    expect(() => decodeMessages(padded)).toThrow(TransportError);
    const wrongIndex = Buffer.from(good);
    // The entry index sits after the 5-byte frame header, ids (2+2 +2+2), 4 × f64 and the u32 count.
    wrongIndex.writeDoubleLE(9, 5 + 8 + 32 + 4);
    expect(() => decodeMessages(wrongIndex)).toThrow(TransportError);
  });

  it('decodes entries as views into a small received buffer, and copies them out of a big one it must not keep alive', () => {
    const append = (count: number, bytes: number): Message => ({ type: 'append', from: 'n1', to: 'n2', term: 2, prevIndex: 0, prevTerm: 0, commit: 0,
      entries: Array.from({ length: count }, (_, i): Entry => ({ index: i + 1, term: 2, type: 'normal', data: new Uint8Array(bytes).fill(i % 251) })) });
    for (const [message, small] of [[append(20, 200), true], [append(40, 2000), false]] as const) {
      const frame = Buffer.from(encodeMessages([message])); // a buffer of its own, as a socket read or a join gives
      expect(frame.buffer.byteLength <= VIEW_BUFFER_BYTES_MAX).toBe(small);
      const [decoded] = decodeMessages(frame) as [Extract<Message, { type: 'append' }>];
      expect(decoded).toEqual(message);
      for (const entry of decoded.entries) expect(entry.data.buffer === frame.buffer).toBe(small);
    }
  });
});
