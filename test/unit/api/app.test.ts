// The HTTP API on a real single-node Concord (Raft, WAL and DuckDB in a temp dir).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { expectPromtoolAccepts } from '../../helpers/promtool.js';
import { soloForFile } from '../../helpers/solo-server.js';

const { call, origin } = soloForFile('concord-api-', { log_level: 'silent', body_limit_bytes: 4096 });

describe('HTTP API', () => {
  it('reports status and probes', async () => {
    const status = await call('GET', '/api/status');
    expect(status.body).toMatchObject({ node_id: 'solo', role: 'leader', current_leader: 'solo', voters: ['solo'] });
    expect((await call('GET', '/live')).status).toBe(200);
    expect((await call('GET', '/health')).body).toMatchObject({ status: 'healthy' });
    expect((await call('GET', '/api/health/db')).body).toMatchObject({ status: 'healthy' });
    expect((await call('GET', '/api/health/log')).body).toMatchObject({ status: 'healthy', error: null });
    const resources = (await call('GET', '/api/health/resources')).body;
    expect(resources.rss_bytes).toBeGreaterThan(0);
    expect(resources.disk_free_bytes).toBeGreaterThan(0);
    expect((await call('GET', '/api/health/operations')).body).toMatchObject({ snapshot_in_progress: false, membership_change_pending: false });
    // snake_case all the way down (DESIGN §4), and /ready says it is a member.
    expect(status.body.storage).toEqual({ healthy: true, error: null, log_bytes: expect.any(Number) });
    expect((await call('GET', '/ready')).body).toMatchObject({ ready: true, member: true, leader: 'solo' });
  });

  it('keeps the stats of the newest heartbeat and refuses malformed ones', async () => {
    const id = (await call('POST', '/api/v1/nodes/register', { addresses: ['10.2.2.2:1'], storage_capacity: 100 })).body.id;
    expect((await call('GET', `/api/v1/nodes/${id}`)).body).not.toHaveProperty('stats');
    expect((await call('POST', `/api/v1/nodes/${id}/heartbeat`, { used_bytes: 7, stats: { temp: 41, disk: 'nvme0', healthy: true } })).status).toBe(200);
    const node = (await call('GET', `/api/v1/nodes/${id}`)).body;
    expect(node).toMatchObject({ used: 7, stats: { disk: 'nvme0', healthy: true, temp: 41 } });
    expect(Object.keys(node.stats)).toEqual(['disk', 'healthy', 'temp']); // sorted: the same bytes on every replica
    expect((await call('POST', `/api/v1/nodes/${id}/heartbeat`, { used_bytes: 8 })).status).toBe(200); // no stats: the last ones stay
    expect((await call('GET', `/api/v1/nodes/${id}`)).body).toMatchObject({ used: 8, stats: { temp: 41 } });
    for (const stats of [{ nested: { a: 1 } }, { list: [1] }, 'text']) {
      const bad = await call('POST', `/api/v1/nodes/${id}/heartbeat`, { used_bytes: 9, stats });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('CONCORD_ERR_VALIDATION');
    }
    expect((await call('GET', `/api/v1/nodes/${id}`)).body.used).toBe(8);
  });

  it('answers network status: nodes by status, leader and health', async () => {
    const before = (await call('GET', '/api/v1/network/status')).body;
    expect(before).toMatchObject({ leader: { id: 'solo', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }, health: 'healthy', voters: ['solo'] });
    expect(Object.keys(before.nodes).sort()).toEqual(['active', 'dead', 'inactive', 'unregistered']);
    await call('POST', '/api/v1/nodes/register', { addresses: ['10.1.1.1:1'], storage_capacity: 10 });
    const after = (await call('GET', '/api/v1/network/status')).body;
    expect(after.nodes.active).toBe(before.nodes.active + 1);
    expect(after.applied_index).toBeGreaterThan(before.applied_index);
  });

  it('validates query strings and answers unknown routes in the error format', async () => {
    const badStatus = await call('GET', '/api/v1/nodes?status=sleeping');
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', message: expect.stringContaining('status') });
    expect((await call('GET', '/api/tasks?status=done')).status).toBe(400);
    expect((await call('GET', '/api/v1/network/stats?consistency=eventual')).status).toBe(400);
    const missing = await call('GET', '/api/v1/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('CONCORD_ERR_NOT_FOUND');
  });

  it('registers a node and reads it back linearizably', async () => {
    const created = await call('POST', '/api/v1/nodes/register', { addresses: ['127.0.0.1:9000'], storage_capacity: 1_000_000, capabilities: { version: '1.0.0' } });
    expect(created.status).toBe(201);
    const read = await call('GET', `/api/v1/nodes/${created.body.id}`);
    expect(read.body).toMatchObject({ id: created.body.id, status: 'active', capacity: 1_000_000 });
    expect((await call('GET', '/api/v1/nodes?status=active')).body.nodes.length).toBeGreaterThan(0);
    expect((await call('GET', '/api/v1/nodes/nope?consistency=stale')).status).toBe(404);
    const stale = await call('GET', `/api/v1/nodes/${created.body.id}?consistency=stale`);
    expect(stale.headers['x-concord-consistency']).toBe('stale');
    expect(Number(stale.headers['x-concord-applied-index'])).toBeGreaterThan(0);
    expect(Number(stale.headers['x-concord-staleness-entries'])).toBeGreaterThanOrEqual(0);
    expect(stale.headers['x-concord-staleness-ms']).toBe('0'); // the leader is its own leader
    expect((await call('GET', `/api/v1/nodes/${created.body.id}?consistency=lease`)).headers['x-concord-consistency']).toBe('lease');
    expect(read.headers['x-concord-consistency']).toBe('linearizable');
    const bad = await call('GET', `/api/v1/nodes/${created.body.id}?consistency=eventual`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('CONCORD_ERR_VALIDATION');
  });

  it('refuses bad input with a coded 400 or 413 and changes nothing', async () => {
    const sums = (await call('GET', '/api/health/state_checksum')).body;
    expect(Object.keys(sums).sort()).toEqual(['applied_index', 'checkpoints', 'checksum']); // DESIGN §4 field names
    expect(sums.applied_index).toBeGreaterThan(0);
    const before = sums.checksum;
    // Each 400 names the field it is about.
    for (const [body, field] of [[{}, 'body.addresses is required'], [{ addresses: [], storage_capacity: 1 }, 'body.addresses must NOT have fewer than 1 items'],
      [{ addresses: ['a'], storage_capacity: '1' }, 'body.storage_capacity must be'], [{ addresses: ['a'], storage_capacity: 1, extra: 1 }, 'body.extra is not a known field'],
      [{ addresses: [7], storage_capacity: 1 }, 'body.addresses[0] must be string']] as const) {
      const res = await call('POST', '/api/v1/nodes/register', body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', message: expect.stringContaining(field) });
    }
    expect((await call('POST', '/api/v1/tasks', '{not json')).status).toBe(400);
    expect((await call('POST', '/api/v1/tasks', { kind: 5 })).body.error.message).toContain('body.kind must be string');
    expect((await call('GET', '/api/health/state_checksum')).body.checksum).toBe(before); // nothing refused was proposed
    // An Idempotency-Key that is empty or too long is refused, not cut short (two long keys could then collide).
    for (const key of ['', 'k'.repeat(257)]) {
      const res = await call('POST', '/api/v1/tasks', { kind: 'k' }, { 'idempotency-key': key });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', message: expect.stringContaining('headers.idempotency-key') });
    }
    expect((await call('GET', '/api/health/state_checksum')).body.checksum).toBe(before);
    const keyed = await call('POST', '/api/v1/tasks', { kind: 'k' }, { 'idempotency-key': 'k'.repeat(256) });
    expect(keyed.status).toBe(201);
    expect((await call('POST', `/api/v1/tasks/${keyed.body.id}/cancel`)).status).toBe(200); // not left for the queue tests to claim
    const afterKeyed = (await call('GET', '/api/health/state_checksum')).body.checksum;
    expect(afterKeyed).not.toBe(before);
    const big = await call('POST', '/api/v1/tasks', { kind: 'k', payload: 'x'.repeat(10_000) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('CONCORD_ERR_PAYLOAD_TOO_LARGE');
    expect((await call('GET', '/api/health/state_checksum')).body.checksum).toBe(afterKeyed);
  });

  it('runs the task queue, honours maintenance mode and Idempotency-Key', async () => {
    const first = await call('POST', '/api/v1/tasks', { kind: 'compact', priority: 3 }, { 'idempotency-key': 'abc' });
    const again = await call('POST', '/api/v1/tasks', { kind: 'compact', priority: 3 }, { 'idempotency-key': 'abc' });
    expect(again.body.id).toBe(first.body.id);
    // A long lease: a sweep (every second) must not requeue the task before the last check.
    const claimed = await call('POST', '/api/v1/tasks/claim', { worker_id: 'w1', lease_ms: 60_000 });
    expect(claimed.body).toMatchObject({ id: first.body.id, status: 'running', worker_id: 'w1' });
    expect((await call('POST', '/api/v1/tasks/claim', { worker_id: 'w2' })).status).toBe(404);
    expect((await call('POST', '/api/maintenance/enable', { reason: 'upgrade' })).status).toBe(200);
    const refused = await call('POST', '/api/v1/tasks', { kind: 'later' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('CONCORD_ERR_MAINTENANCE');
    expect((await call('POST', '/api/maintenance/disable')).status).toBe(200);
    expect((await call('GET', `/api/v1/tasks/${first.body.id}`)).body.status).toBe('running');
  });
});

describe('files, chunks, task lifecycle and stats', () => {
  it('registers a file with placement, reports replicas, and deletes it', async () => {
    for (const zone of ['z1', 'z2']) await call('POST', '/api/v1/nodes/register', { addresses: [`${zone}:1`], storage_capacity: 1_000_000, zone });
    const file = await call('POST', '/api/v1/files/register', { name: 'movie.mkv', size: 20, replication_factor: 2, chunks: [{ hash: 'c1', size: 10 }, { hash: 'c2', size: 10 }] });
    expect(file.status).toBe(201);
    expect(file.body.placements).toHaveLength(2);
    const holder = file.body.placements[0].nodes[0];
    expect((await call('POST', '/api/v1/files/register', { name: 'movie.mkv', size: 1, chunks: [] })).status).toBe(409);
    expect((await call('POST', '/api/v1/chunks/locations', { node_id: holder, stored: ['c1'] })).body).toEqual({ stored: 1, lost: 0 });
    const locations = await call('GET', '/api/v1/chunks/c1/locations');
    expect(locations.body.replicas.find((r: { node_id: string }) => r.node_id === holder).state).toBe('stored');
    expect((await call('GET', `/api/v1/files/${file.body.file_id}`)).body.chunks).toHaveLength(2);
    expect((await call('GET', '/api/v1/network/stats')).body).toMatchObject({ files: 1, chunks: 2 });
    expect((await call('DELETE', `/api/v1/files/${file.body.file_id}`)).status).toBe(200);
    expect((await call('GET', '/api/v1/chunks/c1/locations')).status).toBe(404);
  });

  it('renews, completes, fails and cancels tasks with lease-holder checks', async () => {
    const a = (await call('POST', '/api/v1/tasks', { kind: 'a', priority: 100 })).body;
    await call('POST', '/api/v1/tasks/claim', { worker_id: 'wa' });
    expect((await call('POST', `/api/v1/tasks/${a.id}/renew`, { worker_id: 'other' })).status).toBe(409);
    expect((await call('POST', `/api/v1/tasks/${a.id}/renew`, { worker_id: 'wa', lease_ms: 5000 })).status).toBe(200);
    expect((await call('POST', `/api/v1/tasks/${a.id}/complete`, { worker_id: 'wa', result: { ok: true } })).body.status).toBe('succeeded');
    const b = (await call('POST', '/api/v1/tasks', { kind: 'b', priority: 100, max_attempts: 1 })).body;
    await call('POST', '/api/v1/tasks/claim', { worker_id: 'wb' });
    expect((await call('POST', `/api/v1/tasks/${b.id}/fail`, { worker_id: 'wb', error: 'disk' })).body.status).toBe('failed');
    const c = (await call('POST', '/api/v1/tasks', { kind: 'c' })).body;
    expect((await call('POST', `/api/v1/tasks/${c.id}/cancel`)).body.status).toBe('cancelled');
    expect((await call('GET', '/api/tasks?status=cancelled')).body.tasks.map((t: { id: string }) => t.id)).toContain(c.id);
  });
});

describe('cluster and debug routes', () => {
  it('lists members, shows the log, takes a snapshot and refuses a transfer with no other voter', async () => {
    expect((await call('GET', '/api/cluster/members')).body).toMatchObject({ leader: 'solo', voters: ['solo'] });
    const log = await call('GET', '/api/debug/raft_log?from=1&limit=5');
    expect(log.body.entries.length).toBeGreaterThan(0);
    expect(log.body.entries[0]).toMatchObject({ index: 1, term: 1 });
    for (const [query, field] of [['from=0', 'querystring.from'], ['limit=1.5', 'querystring.limit'], ['limit=x', 'querystring.limit']]) {
      const bad = await call('GET', `/api/debug/raft_log?${query}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', message: expect.stringContaining(field) });
    }
    const snap = await call('POST', '/api/cluster/snapshot');
    expect(snap.body.index).toBeGreaterThan(0);
    const transfer = await call('POST', '/api/cluster/transfer-leadership', {});
    expect(transfer.status).toBe(400);
    expect(transfer.body.error.code).toBe('CONCORD_ERR_INVALID_CONF_CHANGE');
    expect((await call('POST', '/api/cluster/transfer-leadership')).body.error.code).toBe('CONCORD_ERR_INVALID_CONF_CHANGE'); // no body at all
    expect((await call('POST', '/api/cluster/transfer-leadership', { target: 7 })).body.error.code).toBe('CONCORD_ERR_VALIDATION');
  });
});

describe('heartbeats', () => {
  it('batches concurrent heartbeats into one log entry and reports unknown nodes', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call('POST', '/api/v1/nodes/register', { addresses: [`hb${i}:1`], storage_capacity: 100 })).body.id);
    const before = (await call('GET', '/api/status')).body.commit_index;
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => call('POST', `/api/v1/nodes/${ids[i % 5]}/heartbeat`, { used_bytes: i })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const after = (await call('GET', '/api/status')).body.commit_index;
    // Far fewer entries than the 40 heartbeats: one per 50 ms batch window (a slow machine
    // spreads the arrivals over a few windows) plus sweeps.
    expect(after - before).toBeLessThanOrEqual(10);
    expect((await call('POST', '/api/v1/nodes/unknown-node/heartbeat', { used_bytes: 1 })).status).toBe(404);
  });
});

describe('metrics', () => {
  it('exposes Raft, domain and HTTP metrics in a format promtool accepts', async () => {
    const res = await request(`${origin()}/metrics`);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = await res.body.text();
    for (const name of ['concord_raft_term', 'concord_raft_is_leader 1', 'concord_raft_commit_latency_seconds_bucket',
      'coordinator_nodes{status="active"}', 'coordinator_tasks{status="queued"}', 'http_request_duration_seconds_bucket']) {
      expect(text).toContain(name);
    }
    // The solo node elected itself and has applied the registrations of the tests above.
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(sample('concord_raft_role\\{role="leader"\\}')).toBe(1);
    expect(sample('concord_raft_role\\{role="follower"\\}')).toBe(0);
    expect(sample('concord_raft_leader_changes_total')).toBeGreaterThanOrEqual(1);
    expect(sample('concord_raft_proposals_committed_total')).toBeGreaterThan(0);
    expect(sample('concord_raft_proposals_applied_total')).toBeGreaterThan(0);
    expect(sample('coordinator_under_replicated_chunks')).toBe(0);
    for (const name of ['concord_raft_peer_rtt_seconds gauge', 'concord_raft_peer_lag_entries gauge', 'concord_raft_snapshots_installed_total counter']) {
      expect(text).toContain(`# TYPE ${name}`); // no peers here, but the metric is declared
    }
    // Every sample line is `name{labels} value`.
    for (const line of text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eE]+|NaN|[+-]Inf$/);
    }
    expectPromtoolAccepts(text);
  });
});

describe('concord server', () => {
  it('exits with code 2 and lists every problem for a bad config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-bad-config-'));
    try {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ node_id: 'x', data_dir: '/tmp/x', port: 0, peers: 'nope' }));
      const cli = resolve(import.meta.dirname, '../../../dist/src/cli/main.js');
      const run = spawnSync(process.execPath, [cli, 'server', '--config', file], { encoding: 'utf8', timeout: 30_000 });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('port: expected');
      expect(run.stderr).toContain('peers: expected');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
