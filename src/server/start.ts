// Start one Concord node from a validated config: the DuckDB state machine, the
// Raft node, the HTTP API on one port, and the leader's periodic liveness sweep.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import { createRaftNode } from '../../raft/server.js';
import { buildApp } from '../api/app.js';
import { HeartbeatBatcher } from './heartbeat-batcher.js';
import { raftDataDir } from './paths.js';
import { createMetrics } from '../metrics/registry.js';
import { readTlsMaterial, type ConcordConfig } from '../config/index.js';
import { CoordinatorState } from '../state/coordinator-state.js';
import { encodeCommand } from '../state/index.js';

/** Exit code after an internal error (sysexits EX_SOFTWARE): a supervisor restarts the node. */
const EXIT_SOFTWARE = 70;

export interface RunningServer {
  readonly logger: Logger;
  readonly port: number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where log lines go (default stdout); tests capture them here. */
  readonly logDestination?: DestinationStream;
  /**
   * What a failure the node cannot recover from in process does (the Raft loop failed, or a
   * state flush failed): by default exit with EX_SOFTWARE so a supervisor restarts the node
   * from its WAL and database; tests that run the node in process record it instead.
   */
  readonly onFatal?: (error: Error) => void;
}

/** Secrets that must never reach a log line, wherever they would sit in a logged object. */
const REDACTED_PATHS: readonly string[] = [
  'cluster_secret', 'config.cluster_secret', '*.cluster_secret', 'clusterSecret', '*.clusterSecret',
  'auth.tokens', 'config.auth.tokens', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization', 'req.headers.authorization',
  'headers["x-concord-signature"]', '*.headers["x-concord-signature"]', 'headers["x-concord-forwarded"]', '*.headers["x-concord-forwarded"]',
  'tls.key', '*.tls.key',
];

export function createLogger(config: Pick<ConcordConfig, 'node_id' | 'log_level'>, destination?: DestinationStream): Logger {
  const options = { level: config.log_level, base: { node_id: config.node_id }, redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' } };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export async function startServer(config: Readonly<ConcordConfig>, options: StartOptions = {}): Promise<RunningServer> {
  const tls = readTlsMaterial(config.tls); // first: a bad certificate is a config error before anything opens
  const logger = createLogger(config, options.logDestination);
  mkdirSync(config.data_dir, { recursive: true });
  mkdirSync(dirname(config.db_path), { recursive: true });
  const fatal = options.onFatal ?? (() => process.exit(EXIT_SOFTWARE));
  const state = await CoordinatorState.open({
    dbPath: config.db_path, memoryLimitMb: config.db_memory_limit, flushIntervalMs: config.flush_interval_ms, flushRowsMax: config.flush_rows_max,
    checksumInterval: config.checksum_interval, forceSync: config.force_sync, logger,
    // The database lost a flush's rows: only a restart (load, then replay) mends that.
    onFlushFailure: (error) => {
      logger.fatal({ err: error }, 'state flush failed; exiting so the node restarts from its WAL and database');
      fatal(error);
    },
    limits: { nodeTimeoutMs: config.node_timeout, nodeInactiveAfterMs: config.node_inactive_after,
      replicationFactor: config.replication_factor, taskMaxAttempts: 3, idempotencyRetentionMs: 24 * 3_600_000 },
  });
  const metrics = createMetrics();
  const clusterSecret = config.cluster_secret ?? randomBytes(32).toString('hex');
  const raft = await createRaftNode({
    id: config.node_id, host: config.host, port: config.port, dataDir: raftDataDir(config.data_dir), stateMachine: state,
    peers: config.enable_redundancy ? config.peers : [], join: config.join,
    clusterSecret, logger, ...(tls === undefined ? {} : { tls }),
    electionTimeoutMinMs: config.election_timeout_min, electionTimeoutMaxMs: config.election_timeout_max,
    heartbeatIntervalMs: config.heartbeat_interval, snapshotThreshold: config.snapshot_threshold,
    snapshotTailEntries: Math.max(0, config.max_log_size - config.snapshot_threshold),
    requestTimeoutMs: config.request_timeout_ms, peerTimeoutMs: Math.max(500, config.election_timeout_min * 2),
    syncAll: config.force_sync,
    // A failed Ready loop cannot be resumed in process; the WAL and DuckDB are consistent on disk, so restart from them.
    onFatal: fatal,
  }, metrics.observer);
  const app = buildApp({ config, raft, state, heartbeats: new HeartbeatBatcher(raft, config.heartbeat_interval), logger, clusterSecret,
    ...(tls === undefined ? {} : { tls }) });
  metrics.bind(raft, state);
  metrics.instrument(app);
  raft.mount(app);
  await app.listen({ host: config.host, port: config.port });
  raft.start();
  const sweepMs = Math.max(1000, config.heartbeat_interval * 20);
  const sweeper = setInterval(() => {
    if (!raft.isLeader()) return;
    raft.propose(encodeCommand({ v: 1, ts: Date.now(), cmd: { type: 'sweep' } })).catch((error: unknown) =>
      logger.debug({ err: error }, 'sweep proposal failed'));
  }, sweepMs);
  sweeper.unref();
  logger.info({ host: config.host, port: config.port, peers: config.peers.map((p) => p.id), tls: tls !== undefined, mutual_tls: tls?.ca !== undefined,
    auth: config.auth.enabled, rate_limit: config.rate_limit.enabled, force_sync: config.force_sync }, 'concord node listening');
  return {
    logger,
    port: config.port,
    async close() {
      clearInterval(sweeper);
      await raft.stop({ transfer: true });
      await app.close();
      await state.close();
    },
  };
}
