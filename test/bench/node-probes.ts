// What the server benchmark reads about each node besides its answers: CPU time
// from /proc (Linux), resident memory from /api/health/resources, and WAL and
// apply counters from /metrics.
import { request } from 'undici';
import { statFields } from '../helpers/proc.js';
import type { ServerCluster } from '../helpers/server-cluster.js';
import { round } from './stats.js';

// USER_HZ is 100 on every Linux architecture Node.js runs on.
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process, or null when /proc is not readable. */
export function cpuSeconds(pid: number | undefined): number | null {
  const fields = pid === undefined ? null : statFields(pid);
  // utime and stime: fields 14 and 15 of the file, 11 and 12 after the command name.
  return fields === null ? null : (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds of every live node (the load generator reports its own). */
export function cpuSnapshot(cluster: ServerCluster): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const id of cluster.live()) out[id] = cpuSeconds(cluster.pid(id));
  return out;
}

/** Cores used per process between two snapshots taken `seconds` apart. */
export function coresUsed(before: Record<string, number | null>, after: Record<string, number | null>, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, end] of Object.entries(after)) {
    const start = before[name];
    if (end !== null && start !== null && start !== undefined) out[name] = Math.round(((end - start) / seconds) * 100) / 100;
  }
  return out;
}

export async function rssBytes(cluster: ServerCluster, id: string): Promise<number | null> {
  try {
    const answer = await cluster.call(id, 'GET', '/api/health/resources', undefined, 5000);
    return typeof answer.body?.rss_bytes === 'number' ? answer.body.rss_bytes : null;
  } catch {
    return null;
  }
}

export interface RaftCounters {
  readonly persists: number;
  readonly persistSeconds: number;
  readonly applies: number;
  readonly applySeconds: number;
  readonly commitIndex: number;
}

/** WAL persist and apply counts and total seconds, and the commit index, from /metrics. */
export async function raftCounters(cluster: ServerCluster, id: string): Promise<RaftCounters | null> {
  try {
    const res = await cluster.call(id, 'GET', '/api/status', undefined, 5000);
    const metric = metricReader(await metricsText(cluster, id));
    return {
      persists: metric('concord_raft_persist_duration_seconds_count'),
      persistSeconds: metric('concord_raft_persist_duration_seconds_sum'),
      applies: metric('concord_raft_apply_duration_seconds_count'),
      applySeconds: metric('concord_raft_apply_duration_seconds_sum'),
      commitIndex: res.body.commit_index as number,
    };
  } catch {
    return null;
  }
}

export interface PeerSends { readonly messages: number; readonly frames: number }

/** Raft messages and frames a node has sent to all its peers, from /metrics (null: not readable). */
export async function peerSends(cluster: ServerCluster, id: string): Promise<PeerSends | null> {
  try {
    const metric = metricReader(await metricsText(cluster, id));
    return { messages: metric('concord_raft_peer_sent_messages_total'), frames: metric('concord_raft_peer_sent_frames_total') };
  } catch {
    return null;
  }
}

async function metricsText(cluster: ServerCluster, id: string): Promise<string> {
  const metrics = await request(`${cluster.origin(id)}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
  return metrics.body.text();
}

/** A metric's value in an exposition: the sum of its samples, labelled or not (0 when absent). */
function metricReader(text: string): (name: string) => number {
  return (name) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
}

/** Peer frames per successful request and messages per frame, every node together, between two readings (taken of the same nodes). */
export function peerSummary(before: readonly (PeerSends | null)[], after: readonly (PeerSends | null)[], ops: number) {
  let messages = 0;
  let frames = 0;
  for (const [i, a] of after.entries()) {
    const b = before[i] ?? null;
    if (a === null || b === null) return null;
    messages += a.messages - b.messages;
    frames += a.frames - b.frames;
  }
  return { frames_per_op: round(frames / Math.max(1, ops), 2), messages_per_frame: round(messages / Math.max(1, frames), 2) };
}

/** Entries per persist (≈ per fsync), mean persist/apply time and the share of the run spent persisting. */
export function walSummary(before: RaftCounters | null, after: RaftCounters | null, seconds: number) {
  if (before === null || after === null) return null;
  const persists = after.persists - before.persists;
  const applies = after.applies - before.applies;
  const entries = after.commitIndex - before.commitIndex;
  const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    persists,
    entries_per_persist: r(entries / Math.max(1, persists), 1),
    persist_mean_ms: r(((after.persistSeconds - before.persistSeconds) / Math.max(1, persists)) * 1000),
    persist_busy_fraction: r((after.persistSeconds - before.persistSeconds) / seconds),
    apply_mean_ms: r(((after.applySeconds - before.applySeconds) / Math.max(1, applies)) * 1000),
    entries_per_apply: r(entries / Math.max(1, applies), 1),
  };
}
