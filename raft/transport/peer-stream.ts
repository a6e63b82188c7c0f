// The sending side of one peer: a long-lived stream (stream-handshake.ts) that carries
// every Raft message but snapshots. Messages handed over in one turn of the event loop
// leave in one frame (one write, after the turn's I/O callbacks: each write wakes the
// peer's process, which costs more than the few bytes), nothing waits for an answer (Raft's own inflight
// limits bound what is outstanding), and pings measure the round trip and notice a
// peer that stopped answering. After a failure the stream is re-dialled with capped
// backoff; what was queued meanwhile is bounded, and dropping it is reported so the
// core probes the peer again (Raft retransmits what matters).
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Message, NodeId } from '../core/types.js';
import { SIGNATURE_HEADER } from './auth.js';
import { encodeMessages } from './codec.js';
import type { PeerAddress, PeerStats, PeerTls } from './peer-client.js';
import { FRAME_MESSAGES, FRAME_PING, FRAME_PONG, FrameOpener, FrameSealer } from './stream-frames.js';
import { FROM_HEADER, NONCE_HEADER, STREAM_PATH, STREAM_PROTOCOL, TO_HEADER, isNonce, newNonce, sessionKey, signOpen, verifyAccept } from './stream-handshake.js';

export interface PeerStreamOptions {
  readonly selfId: NodeId;
  readonly peer: PeerAddress;
  readonly clusterSecret: string;
  readonly logger: Logger;
  readonly tls?: PeerTls;
  readonly timeoutMs: number;
  readonly backoffMsMax: number;
  readonly queueMessagesMax: number;
  /** Bytes buffered for the socket beyond which the stream counts as stuck. */
  readonly writeBufferBytesMax: number;
  readonly onUnreachable: (peer: NodeId) => void;
}

const PONG_BYTES_MAX = 64;
const PING_MS_MAX = 5_000;
/**
 * Messages of one turn are cut into frames of about this many bytes: a follower far
 * behind can be sent a whole window of appends at once, and one frame must stay well
 * under the receiver's body limit (64 MiB by default). One message is never split.
 */
const FRAME_BODY_BYTES_TARGET = 4 * 1024 * 1024;

/** Encoded message batches of about `target` bytes each (a single larger message travels alone). */
function frameBodies(messages: readonly Message[], target: number): Buffer[] {
  // The usual turn fits in one frame: encode it once.
  const whole = encodeMessages(messages);
  if (whole.length <= target) return [whole];
  const bodies: Buffer[] = [];
  let parts: Buffer[] = [];
  let bytes = 0;
  for (const message of messages) {
    const encoded = encodeMessages([message]);
    if (bytes > 0 && bytes + encoded.length > target) {
      bodies.push(Buffer.concat(parts, bytes));
      parts = [];
      bytes = 0;
    }
    parts.push(encoded);
    bytes += encoded.length;
  }
  if (bytes > 0) bodies.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
  return bodies;
}

interface Open { readonly socket: Socket; readonly sealer: FrameSealer; readonly opener: FrameOpener }

export class PeerStream {
  readonly stats: PeerStats = { sent: 0, frames: 0, failed: 0, lastRttMs: null, lastContactAt: null, queueLength: 0, backoffMs: 0 };
  readonly #options: PeerStreamOptions;
  #open: Open | null = null;
  #dialling = false;
  #queue: Message[] = [];
  #flushQueued = false;
  #retryAt = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #pingSentAt: number | null = null;
  #closed = false;

  constructor(options: PeerStreamOptions) {
    this.#options = options;
  }

  send(message: Message): void {
    if (this.#closed) return;
    this.#queue.push(message);
    if (this.#queue.length > this.#options.queueMessagesMax) {
      this.#queue.splice(0, this.#queue.length - this.#options.queueMessagesMax);
      this.#options.onUnreachable(this.#options.peer.id);
    }
    this.stats.queueLength = this.#queue.length;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => this.#flush());
    }
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#teardown();
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#closed || this.#queue.length === 0) return;
    const open = this.#open;
    if (open === null) {
      this.#dial();
      return;
    }
    const batch = this.#queue;
    this.#queue = [];
    this.stats.queueLength = 0;
    if (open.socket.writableLength > this.#options.writeBufferBytesMax) {
      this.#fail(new Error(`more than ${this.#options.writeBufferBytesMax} bytes unsent`));
      return;
    }
    for (const body of frameBodies(batch, FRAME_BODY_BYTES_TARGET)) {
      open.socket.write(open.sealer.seal(FRAME_MESSAGES, body));
      this.stats.frames++;
    }
    this.stats.sent += batch.length;
  }

  #dial(): void {
    if (this.#dialling || this.#closed || this.#retryTimer !== null) return;
    const wait = this.#retryAt - Date.now();
    if (wait > 0) {
      this.#retryTimer = setTimeout(() => { this.#retryTimer = null; this.#dial(); }, wait);
      this.#retryTimer.unref();
      return;
    }
    this.#dialling = true;
    const { selfId, peer, clusterSecret, tls, timeoutMs } = this.#options;
    const nonce = newNonce();
    const request = (tls === undefined ? httpRequest : httpsRequest)({
      host: peer.host, port: peer.port, method: 'GET', path: STREAM_PATH, agent: false, timeout: timeoutMs,
      headers: {
        connection: 'Upgrade', upgrade: STREAM_PROTOCOL, [FROM_HEADER]: selfId, [TO_HEADER]: peer.id, [NONCE_HEADER]: nonce,
        [SIGNATURE_HEADER]: signOpen(clusterSecret, selfId, peer.id, nonce, Date.now()),
      },
      ...(tls === undefined ? {} : { ca: tls.ca, cert: tls.cert, key: tls.key }),
    });
    let settled = false;
    const failed = (error: Error) => {
      // A timeout destroys the request, which then also emits 'error': count the failure once.
      if (settled) return;
      settled = true;
      this.#dialling = false;
      request.destroy();
      this.#fail(error);
    };
    request.on('timeout', () => failed(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', failed);
    request.on('response', (response: IncomingMessage) => {
      response.resume();
      failed(new Error(`peer answered ${response.statusCode ?? '?'} instead of switching protocols`));
    });
    request.on('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => {
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      this.#dialling = false;
      const theirs = response.headers[NONCE_HEADER];
      if (!isNonce(theirs) || !verifyAccept(clusterSecret, selfId, peer.id, nonce, theirs, response.headers[SIGNATURE_HEADER], Date.now())) {
        socket.destroy();
        this.#fail(new Error('peer did not prove it holds the cluster secret'));
        return;
      }
      this.#opened(socket, sessionKey(clusterSecret, selfId, peer.id, nonce, theirs), head);
    });
    request.end();
  }

  #opened(socket: Socket, key: Buffer, head: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.setTimeout(0);
    socket.setNoDelay(true);
    const open: Open = { socket, sealer: new FrameSealer(key, 'dialer'), opener: new FrameOpener(key, 'listener', PONG_BYTES_MAX) };
    this.#open = open;
    socket.on('data', (chunk: Buffer) => this.#received(open, chunk));
    socket.on('error', (error) => { if (this.#open === open) this.#fail(error); });
    socket.on('close', () => { if (this.#open === open) this.#fail(new Error('stream closed by peer')); });
    // At most 5 s apart whatever the timeout: the listener drops a stream quiet for 30 s.
    this.#pingTimer = setInterval(() => this.#ping(open), Math.min(PING_MS_MAX, Math.max(50, Math.floor(this.#options.timeoutMs / 4))));
    this.#pingTimer.unref();
    this.#ping(open);
    if (head.length > 0) this.#received(open, head);
    this.#flush();
  }

  #received(open: Open, chunk: Buffer): void {
    if (this.#open !== open) return;
    try {
      for (const frame of open.opener.push(chunk)) {
        if (frame.kind !== FRAME_PONG) throw new Error(`unexpected frame kind ${frame.kind} from a listener`);
        if (this.#pingSentAt === null) continue;
        this.stats.lastRttMs = performance.now() - this.#pingSentAt;
        this.#pingSentAt = null;
        this.#contact();
      }
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  #ping(open: Open): void {
    if (this.#open !== open) return;
    if (this.#pingSentAt !== null) {
      if (performance.now() - this.#pingSentAt > this.#options.timeoutMs) this.#fail(new Error(`no pong within ${this.#options.timeoutMs} ms`));
      return;
    }
    this.#pingSentAt = performance.now();
    open.socket.write(open.sealer.seal(FRAME_PING, Buffer.alloc(0)));
  }

  #contact(): void {
    this.stats.lastContactAt = Date.now();
    this.stats.backoffMs = 0;
    this.#retryAt = 0;
  }

  #teardown(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    this.#pingSentAt = null;
    this.#open?.socket.destroy();
    this.#open = null;
  }

  #fail(error: Error): void {
    this.#teardown();
    if (this.#closed) return;
    this.stats.failed++;
    this.stats.backoffMs = Math.min(this.#options.backoffMsMax, Math.max(20, this.stats.backoffMs * 2));
    this.#retryAt = Date.now() + this.stats.backoffMs;
    if (this.stats.failed % 50 === 1) {
      this.#options.logger.debug({ peer: this.#options.peer.id, err: error.message }, 'peer stream failed');
    }
    // What was queued for a broken stream is dropped; Raft retransmits what matters.
    this.#queue = [];
    this.stats.queueLength = 0;
    this.#options.onUnreachable(this.#options.peer.id);
  }
}
