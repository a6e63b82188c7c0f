// The metrics registry against a fake Raft handle and a real model: what each gauge
// reads at scrape time, what the counters count, and that no stale series survive.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../raft/core/types.js';
import type { NodeStatus, PeerStatus, RaftNodeHandle } from '../../../raft/node-api.js';
import { createMetrics, type NodeMetrics } from '../../../src/metrics/registry.js';
import { CoordinatorState, Model, encodeCommand } from '../../../src/state/index.js';
import { expectPromtoolAccepts } from '../../helpers/promtool.js';
import { register, run, value, type Cmd } from '../state/fixtures.js';

type Status = Pick<NodeStatus, 'role' | 'term' | 'leader' | 'commit' | 'pendingProposals' | 'peers'>;

function fakeRaft(initial: Status) {
  let status = initial;
  const listeners = new Set<(leader: NodeId | null, term: number) => void>();
  const handle = {
    status: () => status,
    isLeader: () => status.role === 'leader',
    onLeaderChange(listener: (leader: NodeId | null, term: number) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as RaftNodeHandle;
  return {
    handle,
    set(next: Partial<Status>) { status = { ...status, ...next }; },
    leaderChanged(leader: NodeId | null) { for (const l of listeners) l(leader, status.term); },
  };
}

function fakeState(model: Model) {
  let applied = 0;
  const state = { model, appliedIndex: () => applied, durableIndex: () => applied, onFlush: () => () => undefined } as unknown as CoordinatorState;
  return { state, apply(cmd: Cmd) { value(run(model, cmd)); applied++; } };
}

const peer = (id: string, matchIndex: number | null, rttMs: number | null, messagesSent = 0, framesSent = 0): PeerStatus =>
  ({ id, host: '127.0.0.1', port: 1, voter: true, matchIndex, lastContactMs: null, rttMs, messagesSent, framesSent });

/** Samples of one metric keyed by their label values ('' when unlabelled). */
async function samples(metrics: NodeMetrics, name: string): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return Object.fromEntries(values.map((v) => [Object.values(v.labels).join(','), v.value]));
}

describe('node metrics', () => {
  const leader: Status = { role: 'leader', term: 4, leader: 'a', commit: 100, pendingProposals: 2,
    peers: [peer('b', 97, 12, 30, 7), peer('c', 40, null, 5, 5)] };

  it('reports the role, peer lag and round trip of a leader, and drops them when it steps down', async () => {
    const metrics = createMetrics();
    const raft = fakeRaft(leader);
    metrics.bind(raft.handle, fakeState(new Model()).state);
    expect(await samples(metrics, 'concord_raft_role')).toEqual({ follower: 0, pre_candidate: 0, candidate: 0, leader: 1 });
    expect(await samples(metrics, 'concord_raft_peer_lag_entries')).toEqual({ b: 3, c: 60 });
    expect(await samples(metrics, 'concord_raft_peer_rtt_seconds')).toEqual({ b: 0.012 });
    expect(await samples(metrics, 'concord_raft_peer_sent_messages_total')).toEqual({ b: 30, c: 5 });
    expect(await samples(metrics, 'concord_raft_peer_sent_frames_total')).toEqual({ b: 7, c: 5 });
    expectPromtoolAccepts(await metrics.registry.metrics());
    raft.set({ role: 'follower', leader: 'b', peers: [peer('b', null, 8)] });
    expect(await samples(metrics, 'concord_raft_role')).toEqual({ follower: 1, pre_candidate: 0, candidate: 0, leader: 0 });
    expect(await samples(metrics, 'concord_raft_peer_lag_entries')).toEqual({});
    expect(await samples(metrics, 'concord_raft_peer_match_index')).toEqual({});
    expect(await samples(metrics, 'concord_raft_peer_rtt_seconds')).toEqual({ b: 0.008 });
    expect(await samples(metrics, 'concord_raft_peer_sent_messages_total')).toEqual({ b: 0 });
  });

  it('counts new leaders (not the loss of one) and committed and applied entries', async () => {
    const metrics = createMetrics();
    const raft = fakeRaft(leader);
    metrics.bind(raft.handle, fakeState(new Model()).state);
    raft.leaderChanged('a');
    raft.leaderChanged(null);
    raft.leaderChanged('b');
    expect(await samples(metrics, 'concord_raft_leader_changes_total')).toEqual({ '': 2 });
    metrics.observer.onCommit?.(5);
    metrics.observer.onCommit?.(2);
    metrics.observer.onApply?.(0.001, 5);
    metrics.observer.onSnapshotInstalled?.(50);
    expect(await samples(metrics, 'concord_raft_proposals_committed_total')).toEqual({ '': 7 });
    expect(await samples(metrics, 'concord_raft_proposals_applied_total')).toEqual({ '': 5 });
    expect(await samples(metrics, 'concord_raft_snapshots_installed_total')).toEqual({ '': 1 });
  });

  it('counts under-replicated chunks from the model and follows every applied change', async () => {
    const metrics = createMetrics();
    const model = new Model();
    const state = fakeState(model);
    metrics.bind(fakeRaft(leader).handle, state.state);
    const under = async () => (await samples(metrics, 'coordinator_under_replicated_chunks'))[''];
    expect(await under()).toBe(0);
    register(model, 'a');
    register(model, 'b');
    state.apply({ type: 'file.register', file_id: 'f1', name: 'f1', size: 30, replication_factor: 2,
      chunks: [{ hash: 'h1', size: 10 }, { hash: 'h2', size: 10 }, { hash: 'h3', size: 10 }] });
    expect(await under()).toBe(0); // every chunk placed on a and b
    state.apply({ type: 'file.register', file_id: 'f2', name: 'f2', size: 10, replication_factor: 3, chunks: [{ hash: 'h1', size: 10 }] });
    expect(await under()).toBe(1); // h1 now wants 3 holders; there are only 2 nodes
    state.apply({ type: 'node.unregister', id: 'b' });
    expect(await under()).toBe(3); // b no longer counts for any chunk
    state.apply({ type: 'file.delete', file_id: 'f1' });
    expect(await under()).toBe(1); // h2, h3 dropped with f1; h1 (f2) still has only a
    expect(await samples(metrics, 'coordinator_chunks')).toEqual({ '': 1 });
  });

  it('times every DuckDB flush of the real state machine and counts the rows it wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-metrics-'));
    const state = await CoordinatorState.open({ dbPath: join(dir, 'state.duckdb'), flushIntervalMs: 3_600_000 });
    try {
      const metrics = createMetrics();
      metrics.bind(fakeRaft(leader).handle, state);
      const entry = (index: number, id: string) => ({ index, term: 1, type: 'normal' as const,
        data: encodeCommand({ v: 1, ts: 1_000, cmd: { type: 'task.submit', id, kind: 'k', payload: null, priority: 1, required_capabilities: [] } }) });
      await state.apply([entry(1, 't1'), entry(2, 't2')]);
      await state.flush();
      await state.flush(); // nothing new: no flush, nothing observed
      await state.apply([entry(3, 't3')]);
      await state.flush();
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^concord_state_flush_duration_seconds_count 2$/m);
      expect(await samples(metrics, 'concord_state_flushed_rows_total')).toEqual({ '': 3 });
    } finally {
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents every metric it exports in the README metrics table, and exports every one documented there', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    // First cells of the table's rows: one or more `name` or `name{labels}`.
    const documented = new Set<string>();
    for (const line of readme.split('\n')) {
      const cell = /^\| (`[^|]*`) \| (gauge|counter|histogram) \|/.exec(line)?.[1];
      for (const match of cell?.matchAll(/`([a-z_]+)(?:\{[a-z_,]*\})?`/g) ?? []) documented.add(match[1]);
    }
    const names = createMetrics().registry.getMetricsAsArray().map((m) => m.name);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !names.includes(name))).toEqual([]);
  });
});
