// TLS end to end: three Concord nodes in this process serve https and talk to each
// other over mutual TLS (certificates from a throw-away CA). They elect a leader,
// a write through a follower is forwarded over https with the caller's token, and
// every node serves it. A client without the CA cannot connect; a peer without a
// client certificate is refused on /raft/*; a missing certificate file exits 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../src/cli/status.js';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { freePorts } from '../helpers/ports.js';
import { childEnv } from '../helpers/processes.js';
import { CALM_ELECTIONS, settled, waitUntil } from '../helpers/wait.js';

const here = import.meta.dirname;
const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : resolve(here, '../..');
const cli = resolve(root, 'dist/src/cli/main.js');

const dir = mkdtempSync(join(tmpdir(), 'concord-tls-'));
const ids = ['t1', 't2', 't3'];
const clientToken = 'tls-client-token-0123456789';
const readToken = 'tls-read-token-0123456789ab';
const servers = new Map<string, RunningServer>();
const logs: string[] = [];
let ports: number[] = [];
let certs: TestCerts;
let trusting: Agent;

async function call(id: string, method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown; dispatcher?: Agent } = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`https://127.0.0.1:${ports[ids.indexOf(id)]}${path}`, { method, headers, dispatcher: options.dispatcher ?? trusting,
    body: options.body === undefined ? undefined : JSON.stringify(options.body), headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  return { status: res.statusCode, body: text.startsWith('{') ? JSON.parse(text) : text };
}

beforeAll(async () => {
  certs = makeTestCerts(dir);
  trusting = new Agent({ connect: { ca: readFileSync(certs.ca) } });
  ports = await freePorts(3);
  for (const [i, id] of ids.entries()) {
    const file = join(dir, `${id}.json`);
    writeFileSync(file, JSON.stringify({
      node_id: id, host: '127.0.0.1', port: ports[i], data_dir: join(dir, id), log_level: 'info', cluster_secret: 'tls-cluster-secret-0123456',
      peers: ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: ports[ids.indexOf(p)] })),
      tls: { cert_file: certs.cert, key_file: certs.key, ca_file: certs.ca },
      auth: { enabled: true, tokens: [{ token: clientToken, role: 'client' }, { token: readToken, role: 'read' }] },
      rate_limit: { enabled: true, max: 10_000, window_ms: 1000 }, ...CALM_ELECTIONS,
    }));
    const loaded = loadConfig({ file });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    servers.set(id, await startServer(loaded.config, { logDestination: { write: (line: string) => { logs.push(line); } } }));
  }
});
afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.close()));
  await trusting?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function leader(): Promise<string> {
  return waitUntil(async () => {
    for (const id of ids) {
      const s = await call(id, 'GET', '/api/status', { token: readToken }).catch(() => null);
      if (s?.body?.role === 'leader') return id;
    }
    return null;
  }, { timeoutMs: 20_000, what: 'a leader over TLS' });
}

describe('TLS cluster', () => {
  it('elects a leader over mutual TLS and replicates a write forwarded by a follower', async () => {
    const lead = await leader();
    const follower = ids.find((id) => id !== lead)!;
    const created = await waitUntil(async () => {
      const r = await call(follower, 'POST', '/api/v1/tasks', { token: clientToken, body: { kind: 'over-tls' } });
      return r.status === 201 ? r : null;
    }, { timeoutMs: 15_000, what: 'a write through a follower' });
    for (const id of ids) {
      const read = await settled(() => call(id, 'GET', `/api/v1/tasks/${created.body.id}`, { token: readToken }), `the task on ${id}`);
      expect(read.body.kind).toBe('over-tls');
    }
    // The follower authenticates too, and the leader sees the same caller.
    expect((await call(follower, 'POST', '/api/v1/tasks', { token: readToken, body: { kind: 'x' } })).status).toBe(403);
    expect((await call(follower, 'POST', '/api/v1/tasks', { body: { kind: 'x' } })).status).toBe(401);
    const log = logs.join('');
    expect(log).not.toContain(clientToken);
    expect(log).not.toContain(readToken);
  });

  it('needs the CA on the client side', async () => {
    const bare = new Agent();
    const other = new Agent({ connect: { ca: readFileSync(certs.otherCa) } });
    try {
      await expect(call('t1', 'GET', '/live', { dispatcher: bare })).rejects.toThrow(/certificate/i);
      await expect(call('t1', 'GET', '/live', { dispatcher: other })).rejects.toThrow(/certificate/i);
      expect((await call('t1', 'GET', '/live')).status).toBe(200);
    } finally {
      await bare.close();
      await other.close();
    }
  });

  it('refuses /raft/* from a TLS client without a certificate from the cluster CA, also on resumed sessions', async () => {
    // Node calls a resumed TLS 1.3 session "authorized" even without a client certificate;
    // `reset` closes each connection so the next one resumes the session.
    const withCert = new Agent({ connect: { ca: readFileSync(certs.ca), cert: readFileSync(certs.cert), key: readFileSync(certs.key) } });
    try {
      for (let i = 0; i < 10; i++) {
        const bare = await request(`https://127.0.0.1:${ports[0]}/raft/append`, { method: 'POST', dispatcher: trusting, reset: true });
        expect(bare.statusCode).toBe(401);
        expect(((await bare.body.json()) as { error: { message: string } }).error.message).toContain('client certificate');
        const peer = await request(`https://127.0.0.1:${ports[0]}/raft/append`, { method: 'POST', dispatcher: withCert, reset: true });
        expect(peer.statusCode).toBe(401); // past the certificate check, refused for the missing cluster signature
        expect(((await peer.body.json()) as { error: { message: string } }).error.message).toContain('cluster signature');
      }
    } finally {
      await withCert.close();
    }
  });

  it('refuses a peer stream from a TLS client without a certificate from the cluster CA', async () => {
    const open = (withCert: boolean) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port: ports[0], path: '/raft/stream', ca: readFileSync(certs.ca), agent: false,
        ...(withCert ? { cert: readFileSync(certs.cert), key: readFileSync(certs.key) } : {}),
        headers: { connection: 'Upgrade', upgrade: 'concord-raft' },
      });
      req.on('response', (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', (res: IncomingMessage, socket) => { socket.destroy(); resolve({ status: res.statusCode ?? 0, body: '' }); });
      req.on('error', reject);
      req.end();
    });
    const bare = await open(false);
    expect(bare.status).toBe(401);
    expect(bare.body).toContain('client certificate');
    // With a certificate it gets past that check and is refused for the missing peer ids, nonce and signature.
    expect((await open(true)).status).toBe(400);
  });

  it('concord status reaches TLS nodes with the CA and a token', async () => {
    const ok = await probe(`127.0.0.1:${ports[0]}`, 5000, { dispatcher: trusting, token: readToken });
    expect(ok).toMatchObject({ reachable: true, node_id: 't1' });
    const refused = await probe(`127.0.0.1:${ports[0]}`, 5000, { dispatcher: trusting });
    expect(refused).toMatchObject({ reachable: false, error: 'HTTP 401 CONCORD_ERR_UNAUTHENTICATED' });
  });

  it('exits with code 2 when a TLS file is missing', () => {
    const file = join(dir, 'missing-cert.json');
    writeFileSync(file, JSON.stringify({ node_id: 'x', data_dir: join(dir, 'x'), enable_redundancy: false, tls: { cert_file: join(dir, 'absent.pem'), key_file: certs.key } }));
    const run = spawnSync(process.execPath, [cli, 'server', '--config', file], { encoding: 'utf8', timeout: 30_000, env: childEnv() });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('tls.cert_file: expected a readable PEM file');
    expect(run.stderr).toContain('ENOENT');
  });
});
