// Start one Concord node from a validated config: the DuckDB state machine, the
// Raft node, the HTTP API on one port, and the leader's periodic liveness sweep.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import { createRaftNode } from '../../raft/server.js';
import { buildApp } from '../api/app.js';
import { HeartbeatBatcher } from './heartbeat-batcher.js';
import { createMetrics } from '../metrics/registry.js';
import type { ConcordConfig } from '../config/index.js';
import { CoordinatorState } from '../state/coordinator-state.js';
import { encodeCommand } from '../state/index.js';

export interface RunningServer {
  readonly logger: Logger;
  readonly port: number;
  close(): Promise<void>;
}

export function createLogger(config: Pick<ConcordConfig, 'node_id' | 'log_level'>): Logger {
  return pino({
    level: config.log_level, base: { node_id: config.node_id },
    redact: { paths: ['cluster_secret', 'config.cluster_secret', 'auth.tokens', 'req.headers.authorization', 'headers["x-concord-signature"]'], censor: '[redacted]' },
  });
}

export async function startServer(config: Readonly<ConcordConfig>): Promise<RunningServer> {
  const logger = createLogger(config);
  mkdirSync(config.data_dir, { recursive: true });
  mkdirSync(dirname(config.db_path), { recursive: true });
  const state = await CoordinatorState.open({
    dbPath: config.db_path, memoryLimitMb: config.db_memory_limit, flushIntervalMs: config.flush_interval_ms,
    checksumInterval: config.checksum_interval, logger,
    limits: { nodeTimeoutMs: config.node_timeout, nodeInactiveAfterMs: config.node_inactive_after,
      replicationFactor: config.replication_factor, taskMaxAttempts: 3, idempotencyRetentionMs: 24 * 3_600_000 },
  });
  const metrics = createMetrics();
  const raft = await createRaftNode({
    id: config.node_id, host: config.host, port: config.port, dataDir: `${config.data_dir}/raft`, stateMachine: state,
    peers: config.enable_redundancy ? config.peers : [],
    clusterSecret: config.cluster_secret ?? randomBytes(32).toString('hex'), logger,
    electionTimeoutMinMs: config.election_timeout_min, electionTimeoutMaxMs: config.election_timeout_max,
    heartbeatIntervalMs: config.heartbeat_interval, snapshotThreshold: config.snapshot_threshold,
    snapshotTailEntries: Math.max(0, config.max_log_size - config.snapshot_threshold),
    requestTimeoutMs: config.request_timeout_ms, peerTimeoutMs: Math.max(500, config.election_timeout_min * 2),
  }, metrics.observer);
  const app = buildApp({ config, raft, state, heartbeats: new HeartbeatBatcher(raft, config.heartbeat_interval) });
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
  logger.info({ host: config.host, port: config.port, peers: config.peers.map((p) => p.id) }, 'concord node listening');
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
