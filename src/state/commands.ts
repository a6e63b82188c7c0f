// Commands in the log: a versioned envelope stamped by the leader (ts, ids) and a
// discriminated union of command bodies. Decoding validates; apply trusts the types.
import { z } from 'zod';
import { compileOutputCheck } from './command-check.js';

const id = z.string().min(1).max(128);
const hash = z.string().min(1).max(128);
const bytes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const capabilities = z.record(z.string().max(64), z.string().max(256));
/** What a storage node reports about itself in heartbeats (DESIGN §4 "used bytes, stats"): flat, small. */
export const nodeStats = z.record(z.string().min(1).max(64), z.union([z.number(), z.string().max(256), z.boolean()]))
  .refine((s) => Object.keys(s).length <= 32, 'at most 32 stats').meta({ maxProperties: 32 });

export const commandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('node.register'), id, addresses: z.array(z.string().min(1).max(256)).min(1).max(16),
    storage_capacity: bytes, capabilities: capabilities.default({}), zone: z.string().min(1).max(64).optional() }),
  z.object({ type: z.literal('node.heartbeat_batch'), beats: z.array(z.object({ id, used_bytes: bytes, stats: nodeStats.optional() })).max(100_000) }),
  z.object({ type: z.literal('node.unregister'), id }),
  z.object({ type: z.literal('sweep') }),
  z.object({ type: z.literal('file.register'), file_id: id, name: z.string().min(1).max(1024), size: bytes,
    chunk_size: bytes.optional(), replication_factor: z.number().int().min(1).max(16).optional(),
    chunks: z.array(z.object({ hash, size: bytes })).max(100_000) }),
  z.object({ type: z.literal('file.delete'), file_id: id }),
  z.object({ type: z.literal('replica.report'), node_id: id, stored: z.array(hash).max(100_000), lost: z.array(hash).max(100_000) }),
  z.object({ type: z.literal('task.submit'), id, kind: z.string().min(1).max(128), payload: z.unknown(),
    priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
    required_capabilities: z.array(z.string().min(1).max(64)).max(32).default([]),
    max_attempts: z.number().int().min(1).max(100).optional() }),
  z.object({ type: z.literal('task.claim'), worker_id: id, capabilities: z.array(z.string().min(1).max(64)).max(64).default([]),
    lease_ms: z.number().int().min(1).max(86_400_000) }),
  z.object({ type: z.literal('task.renew'), id, worker_id: id, lease_ms: z.number().int().min(1).max(86_400_000) }),
  z.object({ type: z.literal('task.complete'), id, worker_id: id, result: z.unknown() }),
  z.object({ type: z.literal('task.fail'), id, worker_id: id, error: z.string().max(4096), retry: z.boolean().default(true) }),
  z.object({ type: z.literal('task.cancel'), id }),
  z.object({ type: z.literal('maintenance.enable'), reason: z.string().max(1024).optional() }),
  z.object({ type: z.literal('maintenance.disable') }),
]);

export const envelopeSchema = z.object({
  v: z.literal(1),
  /** Leader's clock when it proposed, ms since epoch. Apply uses only this. */
  ts: z.number().int().min(0),
  idempotency_key: z.string().min(1).max(256).optional(),
  cmd: commandSchema,
});

export type Command = z.output<typeof commandSchema>;
export type NodeStats = z.output<typeof nodeStats>;
export type CommandEnvelope = z.output<typeof envelopeSchema>;
export type CommandInput = z.input<typeof envelopeSchema>;

/** The ajv form of envelopeSchema for values already in its output form (command-check.ts). */
const isEnvelope = compileOutputCheck(envelopeSchema, 'cmd');
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encoded commands live in the leader's log until compaction, oldest first, so small ones
 * are packed into slabs of their own: a slab is freed once its last command is compacted
 * away. An ArrayBuffer per command (TextEncoder) cost 0.7–0.8 µs to make and collect
 * against 0.15–0.2 µs here; Node's shared 8 KiB pool is as fast, but its slabs also hold
 * every other small Buffer of the moment (WAL records, frames, headers), which the log
 * would then keep alive.
 */
const SLAB_BYTES = 64 * 1024;
/** Commands that may take more than this (in UTF-8 bytes) get an ArrayBuffer of their own. */
const SLAB_COMMAND_BYTES_MAX = 4096;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

function commandBytes(text: string): Uint8Array {
  const most = text.length * 3; // UTF-8 bytes per UTF-16 unit, at most
  if (most > SLAB_COMMAND_BYTES_MAX) {
    const own = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
    own.write(text, 'utf8');
    return own;
  }
  if (slabUsed + most > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const written = slab.write(text, slabUsed, 'utf8');
  const bytes = slab.subarray(slabUsed, slabUsed + written);
  slabUsed += written;
  return bytes;
}

export function encodeCommand(envelope: CommandInput): Uint8Array {
  // Already in output form (the write routes fill in the defaults), zod would return it unchanged: the check suffices.
  const value = isEnvelope(envelope) ? envelope : envelopeSchema.parse(envelope);
  return commandBytes(JSON.stringify(value));
}

/**
 * Decode and validate a log entry; returns null when it is not a valid command. Entries
 * are envelopeSchema's output (encodeCommand), so the output-form check is the whole validation.
 */
export function decodeCommand(bytes: Uint8Array): CommandEnvelope | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return isEnvelope(value) ? value : null;
  } catch {
    return null;
  }
}
