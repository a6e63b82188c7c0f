// Options of a running Raft node and their translation into core ticks.
// Only the driver knows milliseconds; the core counts ticks (STYLE: time is ticks).

import type { Logger } from 'pino';
import type { RaftConfigInput } from '../core/config.js';
import type { NodeId } from '../core/types.js';
import type { PeerEndpoint } from '../node-api.js';
import type { PeerTls } from '../transport/index.js';
import type { StorageFs } from '../storage/index.js';
import type { StateMachine } from '../state-machine.js';

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** This node's own address (what peers and clients are told). */
  readonly host: string;
  readonly port: number;
  /** Every other member at bootstrap (voters). Empty for a single-node cluster. */
  readonly peers: readonly PeerEndpoint[];
  /**
   * Join an existing cluster instead of founding one: start with no configuration and
   * wait for the leader to add this node (as a learner, then a voter). `peers` must then
   * be the cluster's current voters: the founders' configuration is not in the log, so
   * this is how the node learns it (a snapshot, if one is sent, overrides it).
   */
  readonly join?: boolean;
  /** Directory for the WAL and snapshots (created if missing). */
  readonly dataDir: string;
  readonly stateMachine: StateMachine;
  readonly clusterSecret: string;
  readonly logger: Logger;
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatIntervalMs: number;
  /** Take a snapshot once this many entries were applied since the last one. */
  readonly snapshotThreshold: number;
  /** Log entries kept behind a snapshot for slow followers. */
  readonly snapshotTailEntries: number;
  /** Also take a snapshot once this many bytes of entry data were applied since the last one (default 64 MiB). */
  readonly snapshotThresholdBytes?: number;
  /** Of the tail kept behind a snapshot, only the newest entries whose data fits in this many bytes (default 64 MiB). */
  readonly snapshotTailBytesMax?: number;
  /** Default wait for propose/read before answering "outcome unknown". */
  readonly requestTimeoutMs: number;
  /** Peer RPC timeout. */
  readonly peerTimeoutMs: number;
  /** Seed for election-timeout randomness (defaults to a random one). */
  readonly randomSeed?: number;
  /** Length of one core tick. */
  readonly tickMs?: number;
  /** Peer RPC over https; with `ca`, peers must also present a certificate it verifies (mutual TLS). */
  readonly tls?: PeerTls;
  /** File-system layer for the WAL (tests inject failures); default node:fs. */
  readonly storageFs?: StorageFs;
  /** fdatasync every WAL update, also those that only move the commit index (`--force-sync`). */
  readonly syncAll?: boolean;
  /**
   * The Ready loop failed (the state machine threw while applying, or a driver invariant
   * broke): this node cannot go on, as a half-handled Ready cannot be retried. The server
   * exits so its supervisor restarts it from the WAL; without a handler the failure is
   * logged and the node stops taking writes.
   */
  readonly onFatal?: (error: Error) => void;
}

export interface TickPlan {
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
}

const TICK_MS_DEFAULT = 10;

/** Convert millisecond timings to ticks, checking they agree with each other. */
export function planTicks(options: Pick<RaftNodeOptions,
  'electionTimeoutMinMs' | 'electionTimeoutMaxMs' | 'heartbeatIntervalMs' | 'tickMs'>): TickPlan {
  const tickMs = options.tickMs ?? Math.max(1, Math.min(TICK_MS_DEFAULT, Math.floor(options.heartbeatIntervalMs / 2)));
  const heartbeatTicks = Math.max(1, Math.round(options.heartbeatIntervalMs / tickMs));
  const electionTicksMin = Math.round(options.electionTimeoutMinMs / tickMs);
  const electionTicksMax = Math.round(options.electionTimeoutMaxMs / tickMs);
  const problems: string[] = [];
  if (electionTicksMin < 2 * heartbeatTicks + 1) {
    problems.push(`election_timeout_min (${options.electionTimeoutMinMs} ms) must exceed twice heartbeat_interval (${options.heartbeatIntervalMs} ms)`);
  }
  if (electionTicksMax < electionTicksMin) {
    problems.push(`election_timeout_max (${options.electionTimeoutMaxMs} ms) must be ≥ election_timeout_min`);
  }
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return { tickMs, heartbeatTicks, electionTicksMin, electionTicksMax };
}

export function coreConfig(id: NodeId, plan: TickPlan, random: () => number, persistStallMs = 5000): RaftConfigInput {
  return {
    id,
    heartbeatTicks: plan.heartbeatTicks,
    electionTicksMin: plan.electionTicksMin,
    electionTicksMax: plan.electionTicksMax,
    // A leader whose disk makes no progress for this long steps down (hashicorp/raft#503).
    persistStallTicksMax: Math.max(plan.electionTicksMax, Math.round(persistStallMs / plan.tickMs)),
    random,
  };
}
