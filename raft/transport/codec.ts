// Peer message encoding. A batch is a sequence of frames
//   [u8 kind][u32 length][payload]
// where kind 1 is a binary append (binary-append.ts: the bulk of the traffic)
// and kind 0 is any other message as JSON. Decoding validates every field, so
// nothing malformed reaches the core.
import type { ConfState, Entry, Message, SnapshotMeta } from '../core/types.js';
import { decodeAppend, encodeAppend } from './binary-append.js';
import { TransportError } from './errors.js';

export const MESSAGES_PER_BATCH_MAX = 10_000;
export const ENTRY_BYTES_MAX = 16 * 1024 * 1024;

const TYPES = new Set(['append', 'appendResponse', 'heartbeat', 'heartbeatResponse', 'vote', 'preVote', 'voteResponse',
  'preVoteResponse', 'snapshot', 'timeoutNow', 'transferLeader', 'readIndex', 'readIndexResponse']);

const FRAME_JSON = 0;
const FRAME_APPEND = 1;

export function encodeMessages(messages: readonly Message[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const payload = m.type === 'append' ? encodeAppend(m) : Buffer.from(JSON.stringify(m));
    const header = Buffer.allocUnsafe(5);
    header.writeUInt8(m.type === 'append' ? FRAME_APPEND : FRAME_JSON, 0);
    header.writeUInt32LE(payload.length, 1);
    parts.push(header, payload);
  }
  return Buffer.concat(parts);
}

export function decodeMessages(bytes: Uint8Array): Message[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Message[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (out.length >= MESSAGES_PER_BATCH_MAX) throw malformed(`more than ${MESSAGES_PER_BATCH_MAX} messages`);
    if (offset + 5 > buffer.length) throw malformed('frame header is truncated');
    const kind = buffer.readUInt8(offset);
    const length = buffer.readUInt32LE(offset + 1);
    const end = offset + 5 + length;
    if (end > buffer.length) throw malformed('frame is truncated');
    const payload = buffer.subarray(offset + 5, end);
    if (kind === FRAME_APPEND) out.push(decodeAppend(payload));
    else if (kind === FRAME_JSON) out.push(decodeJson(payload));
    else throw malformed(`unknown frame kind ${kind}`);
    offset = end;
  }
  return out;
}

function decodeJson(payload: Buffer): Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    throw malformed('frame is not JSON');
  }
  const message = decodeMessage(parsed);
  if (message.type === 'append') throw malformed('append messages travel in binary frames');
  return message;
}

function malformed(why: string): TransportError {
  return new TransportError('CONCORD_ERR_PEER_MALFORMED', `malformed peer message: ${why}`);
}

type Obj = Record<string, unknown>;

function index(o: Obj, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw malformed(`${key} must be a non-negative integer`);
  return v;
}

function text(o: Obj, key: string, nullable = false): string {
  const v = o[key];
  if (nullable && v === null) return null as unknown as string;
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw malformed(`${key} must be a non-empty string`);
  return v;
}

function bool(o: Obj, key: string): boolean {
  if (typeof o[key] !== 'boolean') throw malformed(`${key} must be a boolean`);
  return o[key] as boolean;
}

function decodeEntry(value: unknown): Entry {
  if (typeof value !== 'object' || value === null) throw malformed('entry must be an object');
  const o = value as Obj;
  if (o.type !== 'normal' && o.type !== 'confChange') throw malformed('entry type is invalid');
  if (typeof o.data !== 'string' || o.data.length > ENTRY_BYTES_MAX * 2) throw malformed('entry data must be base64');
  return { index: index(o, 'index'), term: index(o, 'term'), type: o.type, data: new Uint8Array(Buffer.from(o.data, 'base64')) };
}

function decodeConf(value: unknown): ConfState {
  const o = value as Obj;
  const list = (v: unknown) => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw malformed('conf state lists must hold strings');
    return v as string[];
  };
  if (typeof o !== 'object' || o === null) throw malformed('conf state must be an object');
  return { voters: list(o.voters), learners: list(o.learners) };
}

function decodeSnapshotMeta(value: unknown): SnapshotMeta {
  if (typeof value !== 'object' || value === null) throw malformed('snapshot must be an object');
  const o = value as Obj;
  return { index: index(o, 'index'), term: index(o, 'term'), confState: decodeConf(o.confState) };
}

export function decodeMessage(value: unknown): Message {
  if (typeof value !== 'object' || value === null) throw malformed('message must be an object');
  const o = value as Obj;
  if (typeof o.type !== 'string' || !TYPES.has(o.type)) throw malformed(`unknown message type ${String(o.type)}`);
  const base = { from: text(o, 'from'), to: text(o, 'to'), term: index(o, 'term') };
  switch (o.type) {
    case 'append': {
      if (!Array.isArray(o.entries)) throw malformed('entries must be an array');
      const entries = o.entries.map(decodeEntry);
      entries.forEach((e, i) => { if (e.index !== index(o, 'prevIndex') + 1 + i) throw malformed('entries must be contiguous after prevIndex'); });
      return { type: 'append', ...base, prevIndex: index(o, 'prevIndex'), prevTerm: index(o, 'prevTerm'), entries, commit: index(o, 'commit') };
    }
    case 'appendResponse':
      return { type: 'appendResponse', ...base, index: index(o, 'index'), reject: bool(o, 'reject'), hintIndex: index(o, 'hintIndex'), hintTerm: index(o, 'hintTerm') };
    case 'heartbeat':
      return { type: 'heartbeat', ...base, commit: index(o, 'commit'), context: text(o, 'context', true) };
    case 'heartbeatResponse':
      return { type: 'heartbeatResponse', ...base, context: text(o, 'context', true) };
    case 'vote':
    case 'preVote':
      return { type: o.type, ...base, lastIndex: index(o, 'lastIndex'), lastTerm: index(o, 'lastTerm'), transfer: bool(o, 'transfer') };
    case 'voteResponse':
    case 'preVoteResponse':
      return { type: o.type, ...base, reject: bool(o, 'reject') };
    case 'snapshot':
      return { type: 'snapshot', ...base, snapshot: decodeSnapshotMeta(o.snapshot) };
    case 'timeoutNow':
      return { type: 'timeoutNow', ...base };
    case 'transferLeader':
      return { type: 'transferLeader', ...base, target: text(o, 'target') };
    case 'readIndex':
      return { type: 'readIndex', ...base, context: text(o, 'context') };
    default:
      return { type: 'readIndexResponse', ...base, context: text(o, 'context'), index: index(o, 'index'), reject: bool(o, 'reject') };
  }
}
