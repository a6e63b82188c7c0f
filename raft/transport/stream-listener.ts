// The receiving side of peer streams: `GET /raft/stream` upgrade requests on the node's
// HTTP(S) server. The handshake is checked (cluster signature, ids, nonce, and with
// mutual TLS a verified client certificate) before 101 is sent; afterwards every frame
// must carry a valid MAC, every message must come from the peer that opened the stream
// and be addressed to this node, or the stream is closed. Pings are answered on the
// same connection.
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Message, NodeId } from '../core/types.js';
import { SIGNATURE_HEADER, SIGNATURE_WINDOW_MS, hasVerifiedClientCert } from './auth.js';
import { decodeMessages } from './codec.js';
import { FRAME_MESSAGES, FRAME_PING, FRAME_PONG, FrameOpener, FrameSealer } from './stream-frames.js';
import { FROM_HEADER, NONCE_HEADER, STREAM_PATH, STREAM_PROTOCOL, TO_HEADER, isNonce, isPeerId, newNonce, sessionKey, signAccept, verifyOpen } from './stream-handshake.js';

export interface StreamListenerOptions {
  readonly selfId: NodeId;
  readonly clusterSecret: string;
  readonly logger: Logger;
  readonly onMessages: (messages: Message[]) => void;
  /** Called whenever a frame arrives from a peer: it is alive and reaches us. */
  readonly onContact?: (peer: NodeId) => void;
  readonly requireClientCert?: boolean;
  readonly bodyBytesMax: number;
  /** A stream that carries no frame for this long is closed (default 30 s; dialers ping at most 5 s apart). */
  readonly streamIdleMs?: number;
}

const IDLE_MS_DEFAULT = 30_000;

export function attachStreamListener(app: FastifyInstance, options: StreamListenerOptions): void {
  const sockets = new Set<Duplex>();
  const nonces = new SeenNonces();
  let closing = false;
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (closing) {
      socket.destroy();
      return;
    }
    if ((request.url ?? '') !== STREAM_PATH && (request.method === 'GET' || request.method === 'HEAD') && head.length === 0) {
      serveAsHttp(app.server, request, socket);
      return;
    }
    const from = accept(request, socket, options, nonces);
    if (from === null) return;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Half-open connections (a dialer gone without a FIN, after a partition) do not pile up.
    (socket as { setTimeout?: (ms: number, cb: () => void) => void }).setTimeout?.(options.streamIdleMs ?? IDLE_MS_DEFAULT, () => socket.destroy());
    const { opener, sealer } = from;
    const received = (chunk: Buffer) => {
      try {
        for (const frame of opener.push(chunk)) {
          if (frame.kind === FRAME_PING) socket.write(sealer.seal(FRAME_PONG, frame.body));
          else if (frame.kind === FRAME_MESSAGES) deliver(decodeMessages(frame.body), from.id, options);
          else throw new Error('a listener never receives pongs');
          options.onContact?.(from.id);
        }
      } catch (error) {
        options.logger.warn({ peer: from.id, reason: (error as Error).message }, 'closed a peer stream that sent a malformed frame');
        socket.destroy();
      }
    };
    socket.on('data', received);
    if (head.length > 0) received(head);
  });
  // Upgraded sockets are no longer the HTTP server's to close; upgrades that arrive later are refused.
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of sockets) socket.destroy();
  });
}

/**
 * Dialer nonces accepted within the signature window: a captured opening request cannot
 * be replayed to open more streams (they would be useless without the session key, but
 * each would hold a socket and buffer up to a frame's worth of bytes before its MAC fails).
 */
class SeenNonces {
  readonly #expiry = new Map<string, number>();

  /** False if `nonce` was seen within the window; otherwise remember it. */
  fresh(nonce: string, nowMs: number): boolean {
    if (this.#expiry.size >= NONCES_MAX) {
      for (const [seen, until] of this.#expiry) if (until <= nowMs) this.#expiry.delete(seen);
    }
    const until = this.#expiry.get(nonce);
    if (until !== undefined && until > nowMs) return false;
    if (this.#expiry.size >= NONCES_MAX) return false; // flooded with valid openings: refuse until they expire
    this.#expiry.set(nonce, nowMs + SIGNATURE_WINDOW_MS * 2);
    return true;
  }
}

const NONCES_MAX = 100_000;

/**
 * An upgrade this server does not speak (an h2c or WebSocket attempt on an API path):
 * answer it as the plain HTTP/1.1 request it also is, as a server without upgrade support
 * would, then close the connection. Only bodiless GET/HEAD requests come here.
 */
function serveAsHttp(server: FastifyInstance['server'], request: IncomingMessage, socket: Duplex): void {
  const response = new ServerResponse(request);
  response.shouldKeepAlive = false;
  response.assignSocket(socket as Socket);
  response.on('finish', () => {
    response.detachSocket(socket as Socket);
    socket.end();
  });
  server.emit('request', request, response);
}

function deliver(messages: Message[], from: NodeId, options: StreamListenerOptions): void {
  for (const m of messages) {
    if (m.to !== options.selfId || m.from !== from) throw new Error(`message from ${m.from} to ${m.to} on the stream ${from} opened to ${options.selfId}`);
  }
  options.onMessages(messages);
}

interface Accepted { readonly id: NodeId; readonly opener: FrameOpener; readonly sealer: FrameSealer }

function accept(request: IncomingMessage, socket: Duplex, options: StreamListenerOptions, nonces: SeenNonces): Accepted | null {
  const path = request.url ?? '';
  if (path !== STREAM_PATH || request.method !== 'GET' || request.headers.upgrade?.toLowerCase() !== STREAM_PROTOCOL) {
    return refuse(socket, 404, 'CONCORD_ERR_NOT_FOUND', 'no such upgrade', null);
  }
  if (options.requireClientCert === true && !hasVerifiedClientCert(socket as TLSSocket)) {
    return refuse(socket, 401, 'CONCORD_ERR_PEER_UNAUTHORIZED', 'a TLS client certificate signed by the cluster CA is required', options.logger);
  }
  const from = request.headers[FROM_HEADER];
  const to = request.headers[TO_HEADER];
  const nonce = request.headers[NONCE_HEADER];
  if (!isPeerId(from) || !isPeerId(to) || !isNonce(nonce)) {
    return refuse(socket, 400, 'CONCORD_ERR_PEER_MALFORMED', 'stream request needs peer ids and a nonce', options.logger);
  }
  if (!verifyOpen(options.clusterSecret, from, to, nonce, request.headers[SIGNATURE_HEADER], Date.now())) {
    return refuse(socket, 401, 'CONCORD_ERR_PEER_UNAUTHORIZED', 'missing or invalid cluster signature', options.logger);
  }
  if (to !== options.selfId) return refuse(socket, 421, 'CONCORD_ERR_PEER_MALFORMED', `this node is ${options.selfId}, not ${to}`, options.logger);
  if (!nonces.fresh(nonce, Date.now())) return refuse(socket, 401, 'CONCORD_ERR_PEER_UNAUTHORIZED', 'stream opening replayed (nonce seen before)', options.logger);
  const mine = newNonce();
  const key = sessionKey(options.clusterSecret, from, to, nonce, mine);
  socket.write(['HTTP/1.1 101 Switching Protocols', `Upgrade: ${STREAM_PROTOCOL}`, 'Connection: Upgrade', `${NONCE_HEADER}: ${mine}`,
    `${SIGNATURE_HEADER}: ${signAccept(options.clusterSecret, from, to, nonce, mine, Date.now())}`, '', ''].join('\r\n'));
  (socket as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  return { id: from, opener: new FrameOpener(key, 'dialer', options.bodyBytesMax), sealer: new FrameSealer(key, 'listener') };
}

function refuse(socket: Duplex, status: number, code: string, message: string, logger: Logger | null): null {
  if (logger !== null) logger.warn({ source: (socket as { remoteAddress?: string }).remoteAddress, status, code, reason: message }, 'refused a peer stream');
  const body = JSON.stringify({ error: { code, message } });
  socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  return null;
}
