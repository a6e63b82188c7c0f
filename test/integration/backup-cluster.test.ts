// Backup of a 3-node cluster taken on a follower right after the leader
// acknowledged a write (linearizable: the backup holds it), then the whole new
// cluster restored from that one file: three `concord restore` runs with the new
// members' configs, three servers that elect a leader and serve the data with
// equal state checksums. (Here a follower usually has the write applied by the time
// the backup arrives anyway; test/unit/backup/route.test.ts shows deterministically
// that the barrier, not luck, puts it in the backup.)
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackupFile } from '../../src/backup/format.js';
import { DuckStore } from '../../src/state/store/duck-store.js';
import { cliPath, runCli } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { ProcessGroup } from '../helpers/processes.js';
import { CALM_ELECTIONS, settled, waitUntil } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-backup-cluster-'));
const group = new ProcessGroup();
const oldIds = ['s1', 's2', 's3'];
const newIds = ['r1', 'r2', 'r3'];
const port = new Map<string, number>();

function writeConfigs(ids: readonly string[]): void {
  for (const id of ids) {
    writeFileSync(join(dir, `${id}.json`), JSON.stringify({
      node_id: id, host: '127.0.0.1', port: port.get(id), data_dir: join(dir, id), log_level: 'warn', cluster_secret: 'backup-test-secret-0123',
      node_timeout: 3_600_000, node_inactive_after: 3_600_000, ...CALM_ELECTIONS,
      peers: ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: port.get(p) })),
    }));
  }
}

async function call(id: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`http://127.0.0.1:${port.get(id)}${path}`, { method, headersTimeout: 10_000, bodyTimeout: 10_000,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

/** The leader a majority agrees on, once every node in `ids` is ready (knows it and has caught up). */
async function leaderOf(ids: readonly string[]): Promise<string> {
  const leader = await waitUntil(async () => {
    const statuses = (await Promise.all(ids.map((id) => call(id, 'GET', '/api/status').catch(() => null))))
      .map((r) => r?.body).filter((s) => s !== null && s !== undefined);
    const top = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term)[0];
    if (top === undefined) return null;
    const agreeing = statuses.filter((s) => s.current_leader === top.node_id && s.term === top.term).length;
    return agreeing * 2 > ids.length ? top.node_id as string : null;
  }, { timeoutMs: 30_000, what: 'an agreed leader' });
  for (const id of ids) await settled(() => call(id, 'GET', '/ready'), `${id} to be ready`, 30_000);
  return leader;
}

/** Does the backup's database hold task `id`? Opens a copy of its DuckDB bytes. */
async function backupHoldsTask(path: string, id: string): Promise<boolean> {
  const { dataOffset } = await verifyBackupFile(path);
  const db = `${path}.duckdb`;
  await pipeline(createReadStream(path, { start: dataOffset }), createWriteStream(db));
  const store = await DuckStore.open(db, 64);
  try {
    return (await store.query(`SELECT k FROM tasks WHERE k = '${id}'`)).length === 1;
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  const ports = await freePorts(3);
  oldIds.forEach((id, i) => port.set(id, ports[i]));
  writeConfigs(oldIds);
  for (const id of oldIds) group.start(id, process.execPath, [cliPath, 'server', '--config', join(dir, `${id}.json`)]);
});
afterAll(async () => {
  await group.killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('backup and restore of a 3-node cluster', () => {
  const tasks: string[] = [];
  const backup = join(dir, 'cluster.backup');

  it('a backup from a follower holds the write the leader just acknowledged', async () => {
    const leader = await leaderOf(oldIds);
    const followers = oldIds.filter((id) => id !== leader);
    for (let round = 0; round < 4; round++) {
      const created = await settled(() => call(leader, 'POST', '/api/v1/tasks', { kind: `round-${round}` }), `write ${round}`);
      expect(created.status).toBe(201);
      tasks.push(created.body.id);
      // At once, on a follower: the read barrier makes it wait for the write (a 503
      // means an election was under way; the retry's barrier still follows the write).
      const url = `http://127.0.0.1:${port.get(followers[round % 2])}/api/backup`;
      const res = await waitUntil(async () => {
        const r = await request(url, { headersTimeout: 20_000, bodyTimeout: 20_000 }).catch(() => null);
        if (r?.statusCode === 503) await r.body.dump();
        return r === null || r.statusCode === 503 ? null : r;
      }, { timeoutMs: 20_000, what: `a backup from ${followers[round % 2]}` });
      expect(res.statusCode).toBe(200);
      await pipeline(res.body, createWriteStream(backup));
      expect(await backupHoldsTask(backup, created.body.id), `round ${round}`).toBe(true);
    }
    const cli = await runCli(['backup', '--node', `127.0.0.1:${port.get(followers[0])}`, '--out', backup]);
    expect(cli.code, cli.stderr).toBe(0);
  });

  it('three nodes restored from that one file form a cluster with the data', async () => {
    const { header } = await verifyBackupFile(backup);
    expect(header.membership.voters).toEqual(oldIds);
    await group.killAll(); // the old cluster is gone (restore is for a new cluster)
    (await freePorts(3)).forEach((p, i) => port.set(newIds[i], p)); // picked just before use
    writeConfigs(newIds);
    for (const id of newIds) {
      const result = await runCli(['restore', '--from', backup, '--config', join(dir, `${id}.json`)]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('new voters: r1, r2, r3 (old: s1, s2, s3)');
    }
    for (const id of newIds) group.start(id, process.execPath, [cliPath, 'server', '--config', join(dir, `${id}.json`)]);
    const leader = await leaderOf(newIds);
    const status = (await settled(() => call(leader, 'GET', '/api/status'), 'the leader status')).body;
    expect(status.voters).toEqual(newIds);
    expect(status.term).toBeGreaterThanOrEqual(2);
    for (const id of newIds) {
      for (const task of tasks) expect((await settled(() => call(id, 'GET', `/api/v1/tasks/${task}`), `${task} on ${id}`)).status, `${task} on ${id}`).toBe(200);
    }
    const sums = await waitUntil(async () => {
      const all = await Promise.all(newIds.map(async (id) => (await call(id, 'GET', '/api/health/state_checksum')).body));
      return all.every((s) => s.checksum === all[0].checksum && s.applied_index === all[0].applied_index) ? all : null;
    }, { timeoutMs: 20_000, what: 'equal checksums on the new cluster' });
    expect(sums[0].checksum).toBe(header.state_checksum);
    const after = await settled(() => call(newIds.find((id) => id !== leader)!, 'POST', '/api/v1/tasks', { kind: 'new-cluster' }), 'a write on the new cluster');
    expect(after.status).toBe(201);
    for (const id of newIds) {
      await waitUntil(async () => (await call(id, 'GET', `/api/v1/tasks/${after.body.id}`)).status === 200, { timeoutMs: 10_000, what: `the new write on ${id}` });
    }
  });
});
