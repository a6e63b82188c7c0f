// Backup and restore of a single node, with real `concord` processes: writes,
// `concord backup`, `concord restore` into a fresh data dir, start, and the same
// data and state checksum; a corrupted backup is refused (exit 2, nothing written);
// restoring over existing data is refused without --force (exit 1, nothing
// changed) and moves the old data aside with it; an aborted download leaves no copy.
// A node with TLS and auth is backed up over https with --ca and an admin token
// (--token or CONCORD_TOKEN); without a token the CLI says so and writes nothing.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeader } from '../../src/backup/format.js';
import { makeTestCerts } from '../helpers/certs.js';
import { cliPath, runCli } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { ProcessGroup, type Child } from '../helpers/processes.js';
import { startSolo } from '../helpers/solo-server.js';
import { waitUntil } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-backup-'));
const group = new ProcessGroup();
let ports: number[] = [];

function writeConfig(name: string, port: number): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ node_id: name, host: '127.0.0.1', port, data_dir: join(dir, name), log_level: 'warn',
    enable_redundancy: false, node_timeout: 3_600_000, node_inactive_after: 3_600_000 }));
  return file;
}

async function call(port: number, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method, headersTimeout: 10_000, bodyTimeout: 10_000,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

const children = new Map<string, Child>();

async function startNode(name: string, port: number): Promise<Child> {
  const child = group.start(name, process.execPath, [cliPath, 'server', '--config', join(dir, `${name}.json`)]);
  await waitUntil(async () => (await call(port, 'GET', '/ready').catch(() => null))?.status === 200,
    { timeoutMs: 20_000, what: `${name} to be ready` });
  children.set(name, child);
  return child;
}

/** Every file under `root` with its size and SHA-256: what "changed nothing" compares. */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[path.slice(root.length)] = `${statSync(path).size}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(root);
  return out;
}

const original = { port: 0, child: null as Child | null };
const written = { nodes: [] as string[], tasks: [] as string[], file: '' };

beforeAll(async () => {
  ports = await freePorts(3);
  original.port = ports[0];
  writeConfig('original', ports[0]);
  original.child = await startNode('original', ports[0]);
  const p = ports[0];
  for (let i = 0; i < 3; i++) {
    const r = await call(p, 'POST', '/api/v1/nodes/register', { addresses: [`10.0.0.${i}:9000`], storage_capacity: 1_000_000, zone: `z${i}` });
    expect(r.status).toBe(201);
    written.nodes.push(r.body.id);
  }
  for (const kind of ['compact', 'scrub']) written.tasks.push((await call(p, 'POST', '/api/v1/tasks', { kind, priority: 5 })).body.id);
  expect((await call(p, 'POST', '/api/v1/tasks/claim', { worker_id: 'w1', lease_ms: 3_600_000 })).status).toBe(200);
  const file = await call(p, 'POST', '/api/v1/files/register', { name: 'a.bin', size: 2048, chunk_size: 1024, replication_factor: 2,
    chunks: [{ hash: 'aa'.repeat(32), size: 1024 }, { hash: 'bb'.repeat(32), size: 1024 }] });
  expect(file.status).toBe(201);
  written.file = file.body.file_id;
});
afterAll(async () => {
  await group.killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('backup and restore of one node', () => {
  it('restores into a fresh data dir with the same data and state checksum', async () => {
    const out = join(dir, 'one.backup');
    const saved = await runCli(['backup', '--node', `127.0.0.1:${original.port}`, '--out', out]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toMatch(/index \d+ .*bytes, sha256 [0-9a-f]{64}/);
    const { header } = await readHeader(out);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    await waitUntil(() => readdirSync(join(dir, 'original', 'backup-tmp')).length === 0, { timeoutMs: 5000, what: 'the server copy to go' });
    const before = (await call(original.port, 'GET', '/api/health/state_checksum')).body;
    expect(header.state_checksum).toBe(before.checksum);

    writeConfig('restored', ports[1]);
    const restored = await runCli(['restore', '--from', out, '--config', join(dir, 'restored.json')]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`index ${header.index}`);
    await startNode('restored', ports[1]);
    // The restored node elects itself and applies its leader's empty entry past the
    // snapshot; /ready can answer before that entry is applied, so wait for it.
    let after = { checksum: '', applied_index: 0 };
    await waitUntil(async () => {
      after = (await call(ports[1], 'GET', '/api/health/state_checksum')).body;
      return after.applied_index > header.index;
    }, { timeoutMs: 20_000, what: 'the restored node to apply past the snapshot' });
    expect(after.checksum).toBe(header.state_checksum);
    for (const path of [...written.nodes.map((id) => `/api/v1/nodes/${id}`), ...written.tasks.map((id) => `/api/v1/tasks/${id}`),
      `/api/v1/files/${written.file}`, '/api/v1/network/stats']) {
      const [a, b] = await Promise.all([call(original.port, 'GET', path), call(ports[1], 'GET', path)]);
      expect(b.status, path).toBe(200);
      const { applied_index: _a, ...left } = a.body;
      const { applied_index: _b, ...right } = b.body;
      expect(right, path).toEqual(left);
    }
    const status = (await call(ports[1], 'GET', '/api/status')).body;
    expect(status).toMatchObject({ node_id: 'restored', role: 'leader', voters: ['restored'], snapshot_index: header.index });
    expect((await call(ports[1], 'GET', '/api/health/db')).body).toMatchObject({ status: 'healthy' });
    expect((await call(ports[1], 'POST', '/api/v1/tasks', { kind: 'after-restore' })).status).toBe(201);
  });

  it('refuses a corrupted or truncated backup with exit code 2 and writes nothing', async () => {
    const good = readFileSync(join(dir, 'one.backup'));
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1000] ^= 0x01;
    writeFileSync(join(dir, 'flipped.backup'), flipped);
    writeFileSync(join(dir, 'short.backup'), good.subarray(0, good.length - 4096));
    writeConfig('never', ports[2]);
    for (const name of ['flipped.backup', 'short.backup', 'missing.backup']) {
      const result = await runCli(['restore', '--from', join(dir, name), '--config', join(dir, 'never.json')]);
      expect(result.code, name).toBe(2);
      expect(result.stderr).toContain('CONCORD_ERR_BACKUP_CORRUPT');
      expect(existsSync(join(dir, 'never'))).toBe(false);
    }
    const badConfig = await runCli(['restore', '--from', join(dir, 'one.backup'), '--config', join(dir, 'no-such-config.json')]);
    expect(badConfig.code).toBe(2);
  });

  it('refuses existing data without --force and changes nothing; --force moves it aside', async () => {
    await group.kill(children.get('restored')!, 'SIGTERM');
    const data = join(dir, 'restored');
    const before = listing(data);
    const config = join(dir, 'restored.json');
    const refused = await runCli(['restore', '--from', join(dir, 'one.backup'), '--config', config]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('CONCORD_ERR_RESTORE_REFUSED');
    expect(listing(data)).toEqual(before);
    expect(readdirSync(dir).filter((n) => n.startsWith('restored.pre-restore-'))).toEqual([]);

    const forced = await runCli(['restore', '--from', join(dir, 'one.backup'), '--config', config, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const aside = readdirSync(dir).filter((n) => n.startsWith('restored.pre-restore-'));
    expect(aside).toHaveLength(1);
    expect(forced.stdout).toContain(`old data moved to ${join(dir, aside[0])}`);
    expect(listing(join(dir, aside[0]))).toEqual(before);
    const { header } = await readHeader(join(dir, 'one.backup'));
    await startNode('restored', ports[1]);
    expect((await call(ports[1], 'GET', '/api/health/state_checksum')).body.checksum).toBe(header.state_checksum);
    // The task written after the first restore lived only in the data that was moved aside.
    const tasks = (await call(ports[1], 'GET', '/api/v1/tasks')).body.tasks as { kind: string }[];
    expect(tasks.map((t) => t.kind).sort()).toEqual(['compact', 'scrub']);
  });

  it('deletes the server-side copy when a download is aborted, and concord backup fails cleanly', async () => {
    const res = await request(`http://127.0.0.1:${original.port}/api/backup?consistency=stale`, { headersTimeout: 10_000 });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-concord-backup-index']).toMatch(/^\d+$/);
    for await (const _chunk of res.body) break; // read one chunk, then hang up
    await waitUntil(() => readdirSync(join(dir, 'original', 'backup-tmp')).length === 0, { timeoutMs: 10_000, what: 'the copy to be deleted' });
    expect((await call(original.port, 'GET', '/api/backup?consistency=sometimes')).status).toBe(400);
    // Hang up before the answer (during the barrier or the copy): the slot is freed and the copy deleted.
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController();
      const pending = request(`http://127.0.0.1:${original.port}/api/backup`, { signal: controller.signal }).catch(() => null);
      setTimeout(() => controller.abort(), i * 5);
      const answer = await pending;
      await answer?.body.dump().catch(() => undefined);
    }
    await waitUntil(async () => {
      const next = await request(`http://127.0.0.1:${original.port}/api/backup?consistency=stale`);
      await next.body.dump();
      return next.statusCode === 200;
    }, { timeoutMs: 10_000, what: 'a backup after aborted ones' });
    await waitUntil(() => readdirSync(join(dir, 'original', 'backup-tmp')).length === 0, { timeoutMs: 10_000, what: 'no copy left' });

    const out = join(dir, 'unreachable.backup');
    const down = await runCli(['backup', '--node', `127.0.0.1:${ports[2]}`, '--out', out, '--timeout', '2000']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('CONCORD_ERR_BACKUP_FAILED');
    expect(readdirSync(dir).filter((n) => n.includes('unreachable'))).toEqual([]);
    expect((await runCli(['backup', '--node', 'not-an-endpoint', '--out', out])).code).toBe(2);
    expect((await runCli(['backup', '--node', `127.0.0.1:${original.port}`, '--out', out, '--consistency', 'maybe'])).code).toBe(2);
  });
});

describe('backup of a node with TLS and auth', () => {
  it('uses https with --ca and sends the token from --token or CONCORD_TOKEN; without one it fails clearly', async () => {
    const certsDir = join(dir, 'certs');
    mkdirSync(certsDir);
    const certs = makeTestCerts(certsDir);
    const adminToken = 'backup-admin-token-0123456789';
    const readToken = 'backup-read-token-01234567890';
    const solo = await startSolo(dir, 'secure', { tls: { cert_file: certs.cert, key_file: certs.key },
      auth: { enabled: true, tokens: [{ token: adminToken, role: 'admin' }, { token: readToken, role: 'read' }] } });
    const trusting = new Agent({ connect: { ca: readFileSync(certs.ca) } });
    try {
      await waitUntil(async () => {
        const res = await request(`https://127.0.0.1:${solo.port}/ready`, { dispatcher: trusting }).catch(() => null);
        await res?.body.dump();
        return res?.statusCode === 200;
      }, { timeoutMs: 20_000, what: 'the TLS node to be ready' });
      const out = join(dir, 'secure.backup');
      const args = ['backup', '--node', `127.0.0.1:${solo.port}`, '--out', out, '--timeout', '10000'];
      const leftovers = () => readdirSync(dir).filter((n) => n.startsWith('.secure.backup') || n === 'secure.backup');

      const anonymous = await runCli([...args, '--ca', certs.ca], { env: { CONCORD_TOKEN: '' } });
      expect(anonymous.code).toBe(1);
      expect(anonymous.stderr).toContain('CONCORD_ERR_BACKUP_FAILED: the node answered 401 (CONCORD_ERR_UNAUTHENTICATED');
      expect(anonymous.stderr).toContain('pass --token or set CONCORD_TOKEN');
      const reader = await runCli([...args, '--ca', certs.ca, '--token', readToken], { env: { CONCORD_TOKEN: '' } });
      expect(reader.code).toBe(1);
      expect(reader.stderr).toContain('the node answered 403 (CONCORD_ERR_FORBIDDEN');
      const plainHttp = await runCli([...args, '--token', adminToken]);
      expect(plainHttp.code).toBe(1);
      expect(plainHttp.stderr).toContain('CONCORD_ERR_BACKUP_FAILED');
      const noCa = await runCli([...args, '--ca', join(certsDir, 'absent.pem'), '--token', adminToken]);
      expect(noCa.code).toBe(2);
      expect(noCa.stderr).toContain('--ca: ENOENT');
      expect(leftovers()).toEqual([]);

      const byFlag = await runCli([...args, '--ca', certs.ca, '--token', adminToken], { env: { CONCORD_TOKEN: '' } });
      expect(byFlag.code, byFlag.stderr).toBe(0);
      expect((await readHeader(out)).header.node_id).toBe('secure');
      rmSync(out);
      const byEnv = await runCli([...args, '--ca', certs.ca], { env: { CONCORD_TOKEN: adminToken } });
      expect(byEnv.code, byEnv.stderr).toBe(0);
      expect((await readHeader(out)).header.node_id).toBe('secure');
      expect(leftovers()).toEqual(['secure.backup']);
      expect(solo.logs.join('')).not.toContain(adminToken);
    } finally {
      await trusting.close();
      await solo.server.close();
    }
  });
});
