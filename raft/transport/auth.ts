// Peer authentication: every request (and each peer stream's opening and its answer,
// stream-handshake.ts) carries an HMAC-SHA256 of (method, path, timestamp, context,
// body) keyed by the cluster secret, so the secret itself never travels. Signatures
// outside a time window are refused (replays). The context is metadata that travels
// outside the body (a snapshot chunk's header, a stream's ids and nonces), so it cannot
// be swapped under a captured signature.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

export const SIGNATURE_HEADER = 'x-concord-signature';
/** How far a signature's timestamp may be from the receiver's clock. */
export const SIGNATURE_WINDOW_MS = 5 * 60 * 1000;

export function sign(secret: string, method: string, path: string, body: Uint8Array, nowMs: number, context = ''): string {
  const hmac = createHmac('sha256', secret).update(`${method}\n${path}\n${nowMs}\n`);
  if (context !== '') hmac.update(`${context}\n`);
  return `t=${nowMs},v=${hmac.update(body).digest('hex')}`;
}

export function verify(secret: string, method: string, path: string, body: Uint8Array, header: unknown, nowMs: number, context = ''): boolean {
  if (typeof header !== 'string') return false;
  const match = /^t=(\d{1,16}),v=([0-9a-f]{64})$/.exec(header);
  if (match === null) return false;
  const timestamp = Number(match[1]);
  if (Math.abs(nowMs - timestamp) > SIGNATURE_WINDOW_MS) return false;
  const expected = sign(secret, method, path, body, timestamp, context).slice(-64);
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(match[2], 'hex'));
}

/**
 * True when the TLS peer presented a certificate the CA verified. `authorized` alone is
 * not enough: Node reports a resumed TLS 1.3 session as authorized even when the
 * client never sent a certificate (PSK resumption looks the same), so the certificate
 * itself must be there too (it is kept in the session, so resumed peers still pass).
 */
export function hasVerifiedClientCert(socket: TLSSocket): boolean {
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return false;
  return socket.getPeerCertificate().raw !== undefined;
}
