// Peer stream frames: whatever way the bytes are cut up on the wire, the receiver gets
// exactly the frames that were sealed, in order; a frame that was altered, dropped,
// replayed, reflected back or sealed with another key is refused.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppendMessage, Entry } from '../../../raft/core/index.js';
import { decodeMessages, encodeMessages } from '../../../raft/transport/codec.js';
import { FRAME_MESSAGES, FRAME_PING, FRAME_PONG, type FrameKind, FrameOpener, FrameSealer } from '../../../raft/transport/stream-frames.js';

const key = randomBytes(32);
const kinds: FrameKind[] = [FRAME_MESSAGES, FRAME_PING, FRAME_PONG];

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

describe('peer stream frames', () => {
  it('delivers every sealed frame in order however the bytes are split', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ kind: fc.constantFrom(...kinds), body: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (frames, cuts) => {
        const sealer = new FrameSealer(key, 'dialer');
        const wire = Buffer.concat(frames.map((f) => sealer.seal(f.kind, f.body)));
        const opener = new FrameOpener(key, 'dialer', 1024);
        const got = cut(wire, cuts).flatMap((piece) => opener.push(piece));
        expect(got.map((f) => ({ kind: f.kind, body: new Uint8Array(f.body) }))).toEqual(frames.map((f) => ({ kind: f.kind, body: new Uint8Array(f.body) })));
      },
    ), { seed: 7, numRuns: 300 });
  });

  it('keeps every decoded entry intact while later frames arrive (entry data are views into the frames)', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (batches, cuts) => {
        const sealer = new FrameSealer(key, 'dialer');
        let index = 0;
        const sent: AppendMessage[] = batches.map((datas) => {
          const entries: Entry[] = datas.map((data) => ({ index: ++index, term: 3, type: 'normal', data }));
          return { type: 'append', from: 'a', to: 'b', term: 3, prevIndex: entries[0]!.index - 1, prevTerm: 3, commit: 0, entries };
        });
        const wire = Buffer.concat(sent.map((m) => sealer.seal(FRAME_MESSAGES, encodeMessages([m]))));
        const opener = new FrameOpener(key, 'dialer', 1 << 20);
        // Each piece in a buffer of its own, as a socket read gives; decoded as soon as its frame is whole, kept to the end.
        const kept = cut(wire, cuts).flatMap((piece) => opener.push(Buffer.from(piece)).flatMap((frame) => decodeMessages(frame.body)));
        const entriesOf = (ms: readonly unknown[]) => (ms as AppendMessage[]).flatMap((m) => m.entries.map((e) => [e.index, [...e.data]]));
        expect(entriesOf(kept)).toEqual(entriesOf(sent));
      },
    ), { seed: 11, numRuns: 200 });
  });

  it('refuses a frame with any flipped bit', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (body, at, bit) => {
      const frame = new FrameSealer(key, 'dialer').seal(FRAME_MESSAGES, body);
      const position = at % frame.length;
      frame[position] ^= 1 << bit;
      const opener = new FrameOpener(key, 'dialer', 1024);
      // A flipped length byte may only make the frame look longer (then it waits for more bytes) or too long.
      let frames: unknown[] = [];
      try {
        frames = opener.push(frame);
      } catch (error) {
        expect((error as Error).message).toMatch(/malformed peer stream/);
        return;
      }
      expect(frames).toEqual([]);
    }), { seed: 11, numRuns: 300 });
  });

  it('refuses a replayed, dropped, reflected or foreign frame', () => {
    const sealer = new FrameSealer(key, 'dialer');
    const first = sealer.seal(FRAME_MESSAGES, Buffer.from('one'));
    const second = sealer.seal(FRAME_MESSAGES, Buffer.from('two'));
    // Replay: the first frame again instead of the second.
    const replay = new FrameOpener(key, 'dialer', 1024);
    expect(replay.push(first)).toHaveLength(1);
    expect(() => replay.push(first)).toThrow(/authentication failed/);
    // Drop: the second frame without the first.
    expect(() => new FrameOpener(key, 'dialer', 1024).push(second)).toThrow(/authentication failed/);
    // Reflection: a dialer's frame fed back to the dialer as if the listener sent it.
    expect(() => new FrameOpener(key, 'listener', 1024).push(first)).toThrow(/authentication failed/);
    // Another stream's key.
    expect(() => new FrameOpener(randomBytes(32), 'dialer', 1024).push(first)).toThrow(/authentication failed/);
  });

  it('refuses an oversized frame from its header alone, before buffering its body', () => {
    const frame = new FrameSealer(key, 'dialer').seal(FRAME_MESSAGES, Buffer.alloc(2000));
    expect(() => new FrameOpener(key, 'dialer', 1024).push(frame.subarray(0, 5))).toThrow(/exceeds the limit of 1024/);
  });

  it('refuses an unknown frame kind', () => {
    const frame = new FrameSealer(key, 'dialer').seal(FRAME_PING, Buffer.alloc(0));
    frame[4] = 9;
    expect(() => new FrameOpener(key, 'dialer', 1024).push(frame)).toThrow(/unknown frame kind 9/);
  });
});
