// Three `concord server` processes on loopback, started from config files: writes
// through every node (followers forward), linearizable reads on followers, kill -9
// of the leader, restart and catch-up, and equal state checksums once quiet.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/ports.js';
import { ProcessGroup, type Child } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const here = import.meta.dirname;
const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : resolve(here, '../..');
const cli = resolve(root, 'dist/src/cli/main.js');

describe('concord server cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-servers-'));
  const group = new ProcessGroup();
  const ids = ['s1', 's2', 's3'];
  const ports: number[] = [];
  const children = new Map<string, Child>();

  const url = (id: string, path: string) => `http://127.0.0.1:${ports[ids.indexOf(id)]}${path}`;
  async function call(id: string, method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await request(url(id, path), { method, headersTimeout: 10_000, bodyTimeout: 10_000,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : null };
  }
  function start(id: string): void {
    children.set(id, group.start(id, process.execPath, [cli, 'server', '--config', join(dir, `${id}.json`)]));
  }
  async function leader(): Promise<string> {
    return waitUntil(async () => {
      for (const id of children.keys()) {
        const s = await call(id, 'GET', '/api/status').catch(() => null);
        if (s?.body?.role === 'leader') return id;
      }
      return null;
    }, { timeoutMs: 20_000, what: 'a leader', intervalMs: 50 });
  }

  beforeAll(async () => {
    ports.push(...await freePorts(3));
    for (const [i, id] of ids.entries()) {
      writeFileSync(join(dir, `${id}.json`), JSON.stringify({
        node_id: id, host: '127.0.0.1', port: ports[i], data_dir: join(dir, id), log_level: 'warn', cluster_secret: 'cluster-test-secret-0123',
        peers: ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: ports[ids.indexOf(p)] })),
      }));
      start(id);
    }
  });
  afterAll(async () => {
    await group.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts writes on every node, survives kill -9 of the leader and converges', async () => {
    const created: string[] = [];
    await leader();
    for (const id of ids) {
      const res = await waitUntil(async () => {
        const r = await call(id, 'POST', '/api/v1/tasks', { kind: `via-${id}` });
        return r.status === 201 ? r : null;
      }, { timeoutMs: 15_000, what: `a write through ${id}` });
      created.push(res.body.id);
    }
    for (const id of ids) {
      for (const task of created) expect((await call(id, 'GET', `/api/v1/tasks/${task}`)).status).toBe(200);
    }
    const old = await leader();
    await group.kill(children.get(old)!, 'SIGKILL');
    children.delete(old);
    const next = await leader();
    expect(next).not.toBe(old);
    const after = await waitUntil(async () => {
      const r = await call(next, 'POST', '/api/v1/tasks', { kind: 'after-failover' });
      return r.status === 201 ? r : null;
    }, { timeoutMs: 15_000, what: 'a write after failover' });
    start(old);
    await waitUntil(async () => (await call(old, 'GET', `/api/v1/tasks/${after.body.id}`).catch(() => null))?.status === 200,
      { timeoutMs: 30_000, what: 'the restarted node to catch up' });
    const checksums = await waitUntil(async () => {
      const sums = await Promise.all(ids.map(async (id) => (await call(id, 'GET', '/api/health/state_checksum')).body));
      const same = sums.every((s) => s.checksum === sums[0].checksum && s.appliedIndex === sums[0].appliedIndex);
      return same ? sums : null;
    }, { timeoutMs: 30_000, what: 'equal checksums' });
    expect(new Set(checksums.map((s: { checksum: string }) => s.checksum)).size).toBe(1);
  });
});
