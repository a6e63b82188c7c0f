// ConfChange <-> bytes for confChange entries. Decoding validates: a bad entry
// is reported, never half-applied.
import type { ConfChange } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const TYPES = new Set(['addLearner', 'promote', 'remove']);

export function encodeConfChange(change: ConfChange): Uint8Array {
  const plain: Record<string, string> = { type: change.type, node: change.node };
  if (change.address !== undefined) plain.address = change.address;
  return encoder.encode(JSON.stringify(plain));
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new TypeError('conf change is not valid UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null) throw new TypeError('conf change must be an object');
  const { type, node, address } = value as Record<string, unknown>;
  if (typeof type !== 'string' || !TYPES.has(type)) throw new TypeError(`conf change type is invalid: ${String(type)}`);
  if (typeof node !== 'string' || node.length === 0) throw new TypeError('conf change node must be a non-empty string');
  if (address !== undefined && typeof address !== 'string') throw new TypeError('conf change address must be a string');
  return address === undefined
    ? { type: type as ConfChange['type'], node }
    : { type: type as ConfChange['type'], node, address };
}
