// WAL record framing: [length u32][type u8][crc32c u32][payload]. The CRC covers
// type and payload. Payloads:
//   entry:      index f64, term f64, entry type u8, data bytes
//   hardState:  term f64, commit f64, vote (utf-8, may be empty)
//   snapshot:   index f64, term f64, conf state JSON (an installed snapshot: Fig. 13 rule 7)
//   compact:    through f64, index f64, term f64, conf state JSON (entries ≤ through dropped)
import type { ConfState, Entry, HardState, SnapshotMeta } from '../core/types.js';
import { crc32c } from './crc32c.js';

export const HEADER_BYTES = 9;
export const RECORD_BYTES_MAX = 64 * 1024 * 1024;

export const enum RecordType { Entry = 1, HardState = 2, Snapshot = 3, Compact = 4 }

export type WalRecord =
  | { type: RecordType.Entry; entry: Entry }
  | { type: RecordType.HardState; hardState: HardState }
  | { type: RecordType.Snapshot; snapshot: SnapshotMeta }
  | { type: RecordType.Compact; through: number; snapshot: SnapshotMeta };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** CRC-32C over [type byte ++ payload], chained so the payload is not copied. */
function recordChecksum(type: number, payload: Uint8Array): number {
  return crc32c(payload, crc32c(Uint8Array.of(type)));
}

function frame(type: RecordType, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt8(type, 4);
  out.writeUInt32LE(recordChecksum(type, payload), 5);
  out.set(payload, HEADER_BYTES);
  return out;
}

export function encodeEntry(entry: Entry): Buffer {
  const payload = Buffer.allocUnsafe(17 + entry.data.length);
  payload.writeDoubleLE(entry.index, 0);
  payload.writeDoubleLE(entry.term, 8);
  payload.writeUInt8(entry.type === 'normal' ? 0 : 1, 16);
  payload.set(entry.data, 17);
  return frame(RecordType.Entry, payload);
}

export function encodeHardState(hs: HardState): Buffer {
  const vote = encoder.encode(hs.vote ?? '');
  const payload = Buffer.allocUnsafe(16 + vote.length);
  payload.writeDoubleLE(hs.term, 0);
  payload.writeDoubleLE(hs.commit, 8);
  payload.set(vote, 16);
  return frame(RecordType.HardState, payload);
}

export function encodeSnapshotMarker(meta: SnapshotMeta): Buffer {
  const conf = encoder.encode(JSON.stringify(meta.confState));
  const payload = Buffer.allocUnsafe(16 + conf.length);
  payload.writeDoubleLE(meta.index, 0);
  payload.writeDoubleLE(meta.term, 8);
  payload.set(conf, 16);
  return frame(RecordType.Snapshot, payload);
}

export function encodeCompactMarker(through: number, meta: SnapshotMeta): Buffer {
  const conf = encoder.encode(JSON.stringify(meta.confState));
  const payload = Buffer.allocUnsafe(24 + conf.length);
  payload.writeDoubleLE(through, 0);
  payload.writeDoubleLE(meta.index, 8);
  payload.writeDoubleLE(meta.term, 16);
  payload.set(conf, 24);
  return frame(RecordType.Compact, payload);
}

export type ReadOutcome =
  | { kind: 'record'; record: WalRecord; next: number }
  | { kind: 'end' }
  | { kind: 'torn' }
  | { kind: 'corrupt'; reason: string };

/** Read the record at `offset` of `buffer`. */
export function readRecord(buffer: Buffer, offset: number): ReadOutcome {
  if (offset === buffer.length) return { kind: 'end' };
  if (offset + HEADER_BYTES > buffer.length) return { kind: 'torn' };
  const length = buffer.readUInt32LE(offset);
  const type = buffer.readUInt8(offset + 4);
  const crc = buffer.readUInt32LE(offset + 5);
  if (length > RECORD_BYTES_MAX) return { kind: 'corrupt', reason: `record length ${length} exceeds the limit` };
  const end = offset + HEADER_BYTES + length;
  if (end > buffer.length) return { kind: 'torn' };
  const payload = buffer.subarray(offset + HEADER_BYTES, end);
  if (recordChecksum(type, payload) !== crc) return { kind: 'corrupt', reason: 'checksum mismatch' };
  const record = decodePayload(type, payload);
  if (record === null) return { kind: 'corrupt', reason: `unknown or malformed record type ${type}` };
  return { kind: 'record', record, next: end };
}

function decodePayload(type: number, payload: Buffer): WalRecord | null {
  try {
    switch (type) {
      case RecordType.Entry: {
        const index = payload.readDoubleLE(0);
        const term = payload.readDoubleLE(8);
        const kind = payload.readUInt8(16);
        if (kind > 1) return null;
        const data = new Uint8Array(payload.subarray(17));
        return { type, entry: { index, term, type: kind === 0 ? 'normal' : 'confChange', data } };
      }
      case RecordType.HardState: {
        const vote = decoder.decode(payload.subarray(16));
        return { type, hardState: { term: payload.readDoubleLE(0), commit: payload.readDoubleLE(8), vote: vote === '' ? null : vote } };
      }
      case RecordType.Snapshot: {
        const confState = JSON.parse(decoder.decode(payload.subarray(16))) as ConfState;
        return { type, snapshot: { index: payload.readDoubleLE(0), term: payload.readDoubleLE(8), confState } };
      }
      case RecordType.Compact: {
        const confState = JSON.parse(decoder.decode(payload.subarray(24))) as ConfState;
        const snapshot = { index: payload.readDoubleLE(8), term: payload.readDoubleLE(16), confState };
        return { type, through: payload.readDoubleLE(0), snapshot };
      }
      default:
        return null;
    }
  } catch {
    return null;
  }
}
