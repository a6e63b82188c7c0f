// Frames on a peer stream (an upgraded HTTP connection, see stream-handshake.ts):
//   [u32 BE body length][u8 kind][body][16-byte MAC]
// The MAC is HMAC-SHA256 truncated to 16 bytes, keyed by the session key both ends
// derived in the handshake, over (direction, sequence number, kind, body). Sequence
// numbers are implicit (each end counts its frames per direction), so a dropped,
// reordered, replayed or reflected frame fails the check and the stream is closed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TransportError } from './errors.js';

export const FRAME_MESSAGES = 0;
export const FRAME_PING = 1;
export const FRAME_PONG = 2;
export type FrameKind = typeof FRAME_MESSAGES | typeof FRAME_PING | typeof FRAME_PONG;

/** Which way a frame travels: from the end that dialed, or from the end that listened. */
export type Direction = 'dialer' | 'listener';

const HEADER_BYTES = 5;
const MAC_BYTES = 16;

export interface Frame { readonly kind: FrameKind; readonly body: Buffer }

function mac(key: Buffer, direction: Direction, seq: number, kind: number, body: Uint8Array): Buffer {
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt8(direction === 'dialer' ? 0 : 1, 0);
  prefix.writeUIntBE(seq, 1, 6);
  prefix.writeUInt8(kind, 7);
  return createHmac('sha256', key).update(prefix).update(body).digest().subarray(0, MAC_BYTES);
}

/** Seals outgoing frames of one direction of one stream. */
export class FrameSealer {
  #seq = 0;
  constructor(private readonly key: Buffer, private readonly direction: Direction) {}

  seal(kind: FrameKind, body: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(HEADER_BYTES + body.length + MAC_BYTES);
    out.writeUInt32BE(body.length, 0);
    out.writeUInt8(kind, 4);
    out.set(body, HEADER_BYTES);
    mac(this.key, this.direction, this.#seq++, kind, body).copy(out, HEADER_BYTES + body.length);
    return out;
  }
}

/**
 * Reassembles and checks incoming frames of one direction of one stream. Bytes arrive
 * in arbitrary pieces; a frame is joined once (no quadratic re-copying of big frames).
 * Anything wrong (oversized, unknown kind, bad MAC) throws: the caller closes the stream.
 */
export class FrameOpener {
  #seq = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #needed = HEADER_BYTES;

  constructor(private readonly key: Buffer, private readonly direction: Direction, private readonly bodyBytesMax: number) {}

  push(chunk: Buffer): Frame[] {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const frames: Frame[] = [];
    while (this.#pendingBytes >= this.#needed) {
      const joined = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
      const length = joined.readUInt32BE(0);
      if (length > this.bodyBytesMax) throw malformed(`frame of ${length} bytes exceeds the limit of ${this.bodyBytesMax}`);
      const total = HEADER_BYTES + length + MAC_BYTES;
      if (joined.length < total) {
        this.#pending = [joined];
        this.#needed = total;
        break;
      }
      frames.push(this.#open(joined.subarray(0, total), length));
      const rest = joined.subarray(total);
      this.#pending = rest.length === 0 ? [] : [rest];
      this.#pendingBytes = rest.length;
      this.#needed = HEADER_BYTES;
    }
    return frames;
  }

  #open(frame: Buffer, length: number): Frame {
    const kind = frame.readUInt8(4);
    if (kind !== FRAME_MESSAGES && kind !== FRAME_PING && kind !== FRAME_PONG) throw malformed(`unknown frame kind ${kind}`);
    const body = frame.subarray(HEADER_BYTES, HEADER_BYTES + length);
    const expected = mac(this.key, this.direction, this.#seq++, kind, body);
    if (!timingSafeEqual(expected, frame.subarray(HEADER_BYTES + length))) throw malformed('frame authentication failed');
    return { kind, body };
  }
}

function malformed(why: string): TransportError {
  return new TransportError('CONCORD_ERR_PEER_MALFORMED', `malformed peer stream: ${why}`);
}
