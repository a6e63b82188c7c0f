// Opening a peer stream: the dialer sends `GET /raft/stream` with `Upgrade: concord-raft`,
// its id, the id it wants to reach, a fresh nonce and a cluster signature over them; the
// listener answers 101 with its own nonce and its own signature (so the dialer knows it
// reached a member, not an impostor). Both derive the session key that MACs every frame
// from the secret and both nonces, so frames recorded from one stream are worthless on
// another. The secret itself never travels.
import { createHmac, randomBytes } from 'node:crypto';
import type { NodeId } from '../core/types.js';
import { sign, verify } from './auth.js';

export const STREAM_PATH = '/raft/stream';
export const STREAM_PROTOCOL = 'concord-raft';
export const FROM_HEADER = 'x-concord-from';
export const TO_HEADER = 'x-concord-to';
export const NONCE_HEADER = 'x-concord-nonce';

const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const ID_PATTERN = /^[\x21-\x7e]{1,256}$/;

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE_PATTERN.test(value);
}

export function isPeerId(value: unknown): value is NodeId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

const EMPTY = new Uint8Array(0);

/** The dialer's signature over who it is, whom it wants, and its nonce. */
export function signOpen(secret: string, from: NodeId, to: NodeId, nonce: string, nowMs: number): string {
  return sign(secret, 'GET', STREAM_PATH, EMPTY, nowMs, `${from}\n${to}\n${nonce}`);
}

export function verifyOpen(secret: string, from: NodeId, to: NodeId, nonce: string, header: unknown, nowMs: number): boolean {
  return verify(secret, 'GET', STREAM_PATH, EMPTY, header, nowMs, `${from}\n${to}\n${nonce}`);
}

/** The listener's signature in its 101 answer: it binds both nonces. */
export function signAccept(secret: string, from: NodeId, to: NodeId, dialerNonce: string, listenerNonce: string, nowMs: number): string {
  return sign(secret, '101', STREAM_PATH, EMPTY, nowMs, `${from}\n${to}\n${dialerNonce}\n${listenerNonce}`);
}

export function verifyAccept(secret: string, from: NodeId, to: NodeId, dialerNonce: string, listenerNonce: string, header: unknown, nowMs: number): boolean {
  return verify(secret, '101', STREAM_PATH, EMPTY, header, nowMs, `${from}\n${to}\n${dialerNonce}\n${listenerNonce}`);
}

/** The key that MACs every frame of one stream (from = the dialer, to = the listener). */
export function sessionKey(secret: string, from: NodeId, to: NodeId, dialerNonce: string, listenerNonce: string): Buffer {
  return createHmac('sha256', secret).update(`concord-raft-stream\n${from}\n${to}\n${dialerNonce}\n${listenerNonce}`).digest();
}
