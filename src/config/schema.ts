// The node configuration: one zod schema for the JSON file (DESIGN §5), with
// defaults, units in names where the file format allows, and cross-field checks.
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);
const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, ".", "_", ":" or "-"');
const positiveMs = z.number().int().positive();

export const peerSchema = z.object({
  id,
  host: z.string().min(1).max(253),
  port,
}).strict();

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const authSchema = z.object({
  enabled: z.boolean().default(false),
  tokens: z.array(z.object({
    token: z.string().min(16, 'tokens must be at least 16 characters').max(512)
      .regex(/^[A-Za-z0-9._~+/=-]+$/, 'token characters: letters, digits, ".", "_", "~", "+", "/", "=" or "-" (concord token makes one)'),
    role: z.enum(['admin', 'node', 'client', 'read']),
  }).strict()).default([]),
}).strict();

export const tlsSchema = z.object({
  cert_file: z.string().min(1),
  key_file: z.string().min(1),
  ca_file: z.string().min(1).optional(),
}).strict();

/** Per-client request limit (token if known, else IP); off by default, see README. */
export const rateLimitSchema = z.object({
  enabled: z.boolean().default(false),
  max: z.number().int().min(1).default(1000),
  window_ms: z.number().int().min(100).max(3_600_000).default(1000),
}).strict();

/** Log entries kept behind a snapshot for slow followers when `max_log_size` is not set. */
export const SNAPSHOT_TAIL_DEFAULT = 10_000;

export const configSchema = z.object({
  node_id: id,
  host: z.string().min(1).max(253).default('127.0.0.1'),
  port: port.default(8080),
  data_dir: z.string().min(1),
  db_path: z.string().min(1).optional(),
  log_level: z.string().transform((s) => s.toLowerCase()).pipe(z.enum(LOG_LEVELS)).default('info'),
  enable_redundancy: z.boolean().default(true),
  /** Start with no configuration and wait to be added (POST /api/cluster/members on the leader). */
  join: z.boolean().default(false),
  peers: z.array(peerSchema).default([]),
  election_timeout_min: positiveMs.default(150),
  election_timeout_max: positiveMs.default(300),
  heartbeat_interval: positiveMs.default(50),
  // A snapshot is a CHECKPOINT and a copy of the whole database file, so its cost grows with
  // the state: every 1,000 entries, 3 nodes spent 22–40 % more CPU per write than every 10,000.
  snapshot_threshold: z.number().int().min(1).default(50_000),
  // Default: snapshot_threshold + 10,000 (the tail kept for slow followers), filled in after the cross-field checks.
  max_log_size: z.number().int().min(1).optional(),
  node_timeout: positiveMs.default(15_000),
  node_inactive_after: positiveMs.default(60_000),
  replication_factor: z.number().int().min(1).max(16).default(3),
  db_memory_limit: z.number().int().min(16).default(256),
  // 1 s, not 100 ms: every flush has a fixed cost (statements, commit) of a few ms on
  // the main thread; at 100 ms that was 20–30 % of a 3-node cluster's write throughput.
  flush_interval_ms: positiveMs.default(1000),
  /** Applied rows (changed or deleted) that make the flusher write at once instead of waiting for flush_interval_ms. */
  flush_rows_max: z.number().int().min(1).default(50_000),
  checksum_interval: z.number().int().min(1).default(1000),
  /** fdatasync every WAL update (commit-only ones too) and flush DuckDB after every applied batch; `--force-sync`. */
  force_sync: z.boolean().default(false),
  request_timeout_ms: positiveMs.default(5000),
  body_limit_bytes: z.number().int().min(1024).default(1024 * 1024),
  cluster_secret: z.string().min(16, 'cluster_secret must be at least 16 characters').optional(),
  auth: authSchema.default({ enabled: false, tokens: [] }),
  rate_limit: rateLimitSchema.default({ enabled: false, max: 1000, window_ms: 1000 }),
  tls: tlsSchema.optional(),
}).strict().superRefine((c, ctx) => crossFieldProblems(c as unknown as Record<string, unknown>, ctx), {
  // Also when some fields are already wrong, so one run lists every problem; the checks
  // below look only at fields that have the right type.
  when: (payload) => typeof payload.value === 'object' && payload.value !== null,
}).transform((c) => ({ ...c, max_log_size: c.max_log_size ?? c.snapshot_threshold + SNAPSHOT_TAIL_DEFAULT }));

/** Checks between fields, on a config whose individual fields may not all be valid. */
function crossFieldProblems(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const num = (key: string): number | null => (typeof c[key] === 'number' ? c[key] as number : null);
  const min = num('election_timeout_min');
  const max = num('election_timeout_max');
  const beat = num('heartbeat_interval');
  if (min !== null && max !== null && max < min) problem(['election_timeout_max'], `must be ≥ election_timeout_min (${min})`);
  if (min !== null && beat !== null && min < 2 * beat + 1) problem(['election_timeout_min'], `must exceed twice heartbeat_interval (${beat} ms)`);
  const redundant = c.enable_redundancy === true;
  const peers = Array.isArray(c.peers) ? (c.peers as unknown[]).filter((p): p is { id: unknown; host: unknown; port: unknown } => typeof p === 'object' && p !== null) : null;
  if (redundant && peers !== null && peers.length === 0) problem(['peers'], 'at least one peer is required unless enable_redundancy is false');
  if (redundant && c.cluster_secret === undefined && peers !== null && peers.length > 0) {
    problem(['cluster_secret'], 'required when the node has peers (or set CLUSTER_SECRET)');
  }
  peers?.forEach((p, i) => {
    if (p.id === c.node_id) problem(['peers', i, 'id'], `must not be this node's id (${String(c.node_id)})`);
    if (peers.findIndex((q) => q.id === p.id) !== i) problem(['peers', i, 'id'], `duplicate peer id ${String(p.id)}`);
    if (peers.findIndex((q) => q.host === p.host && q.port === p.port) !== i) problem(['peers', i], `duplicate address ${String(p.host)}:${String(p.port)}`);
    if (p.host === c.host && p.port === c.port) problem(['peers', i], 'a peer cannot listen on this node\'s own address');
  });
  if (c.join === true && !redundant) problem(['join'], 'a node that joins a cluster needs enable_redundancy');
  const auth = typeof c.auth === 'object' && c.auth !== null ? c.auth as { enabled?: unknown; tokens?: unknown } : null;
  const tokens = Array.isArray(auth?.tokens) ? (auth.tokens as { token?: unknown }[]) : null;
  if (auth?.enabled === true && tokens !== null && tokens.length === 0) problem(['auth', 'tokens'], 'auth is enabled but no token is configured');
  tokens?.forEach((t, i) => {
    if (tokens.findIndex((u) => u?.token === t?.token) !== i) problem(['auth', 'tokens', i, 'token'], 'each token must be unique');
  });
  const threshold = num('snapshot_threshold');
  const logSize = num('max_log_size');
  if (threshold !== null && logSize !== null && logSize < threshold) problem(['max_log_size'], `must be ≥ snapshot_threshold (${threshold})`);
}

export type ConcordConfig = z.output<typeof configSchema> & { readonly db_path: string };
export type PeerConfig = z.output<typeof peerSchema>;
