// Request bodies, one zod schema each (converted to JSON Schema for fastify/ajv).
import { z } from 'zod';
import { nodeStats } from '../state/commands.js';

export const schemas = {
  registerNode: z.object({
    addresses: z.array(z.string().min(1).max(256)).min(1).max(16),
    storage_capacity: z.number().int().min(0),
    capabilities: z.record(z.string(), z.string()).optional(),
    zone: z.string().min(1).max(64).optional(),
  }).strict(),
  // Other fields are tolerated (and ignored) so older or richer agents keep working.
  heartbeat: z.object({ used_bytes: z.number().int().min(0), stats: nodeStats.optional() }).passthrough(),
  submitTask: z.object({
    kind: z.string().min(1).max(128), payload: z.unknown().optional(), priority: z.number().int().optional(),
    required_capabilities: z.array(z.string()).optional(), max_attempts: z.number().int().min(1).max(100).optional(),
  }).strict(),
  claim: z.object({ worker_id: z.string().min(1).max(128), capabilities: z.array(z.string()).optional(), lease_ms: z.number().int().min(1).max(86_400_000).default(30_000) }).strict(),
  maintenance: z.object({ reason: z.string().max(1024).optional() }).strict(),
  renew: z.object({ worker_id: z.string().min(1).max(128), lease_ms: z.number().int().min(1).max(86_400_000).default(30_000) }).strict(),
  complete: z.object({ worker_id: z.string().min(1).max(128), result: z.unknown().optional() }).strict(),
  failTask: z.object({ worker_id: z.string().min(1).max(128), error: z.string().max(4096), retry: z.boolean().optional() }).strict(),
  registerFile: z.object({
    name: z.string().min(1).max(1024), size: z.number().int().min(0), chunk_size: z.number().int().min(1).optional(),
    replication_factor: z.number().int().min(1).max(16).optional(),
    chunks: z.array(z.object({ hash: z.string().min(1).max(128), size: z.number().int().min(0) }).strict()).max(100_000),
  }).strict(),
  replicaReport: z.object({ node_id: z.string().min(1).max(128), stored: z.array(z.string().min(1).max(128)).default([]),
    lost: z.array(z.string().min(1).max(128)).default([]) }).strict(),
};
