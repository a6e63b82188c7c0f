// Bearer tokens and roles on a real single-node Concord: 401 without a known token,
// 403 for the wrong role, probes and /metrics open, /raft/* left to the cluster
// secret, and no token ever written to the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessFor, TokenTable, WRITE_ROLES } from '../../../src/api/auth.js';
import { startSolo, type SoloServer } from '../../helpers/solo-server.js';
import { waitUntil } from '../../helpers/wait.js';

const tokens = {
  admin: 'admin-token-0123456789abcdef',
  node: 'node-token-0123456789abcdef',
  client: 'client-token-0123456789abcdef',
  read: 'read-token-0123456789abcdef',
} as const;
type Who = keyof typeof tokens | 'none' | 'unknown';

const dir = mkdtempSync(join(tmpdir(), 'concord-auth-'));
let solo: SoloServer;

async function call(who: Who, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (who === 'unknown') headers.authorization = 'Bearer not-a-configured-token-000000';
  else if (who !== 'none') headers.authorization = `Bearer ${tokens[who]}`;
  const res = await request(`http://127.0.0.1:${solo.port}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text.length > 0 && text.startsWith('{') ? JSON.parse(text) : text };
}

beforeAll(async () => {
  solo = await startSolo(dir, 'auth', { auth: { enabled: true, tokens: Object.entries(tokens).map(([role, token]) => ({ token, role })) } });
  await waitUntil(async () => (await call('none', 'GET', '/ready')).status === 200, { timeoutMs: 15_000, what: 'the node to be ready' });
});
afterAll(async () => {
  await solo?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bearer-token auth', () => {
  it('leaves probes and /metrics open', async () => {
    for (const path of ['/live', '/ready', '/health', '/metrics']) expect((await call('none', 'GET', path)).status, path).toBe(200);
  });

  it('answers 401 without a known token, with the standard error body', async () => {
    for (const who of ['none', 'unknown'] as const) {
      const res = await call(who, 'GET', '/api/status');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('CONCORD_ERR_UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toContain('Bearer');
    }
    const malformed = await request(`http://127.0.0.1:${solo.port}/api/status`, { headers: { authorization: `Basic ${tokens.admin}` } });
    expect(malformed.statusCode).toBe(401);
    await malformed.body.dump();
    expect((await call('none', 'POST', '/api/v1/tasks', { kind: 'x' })).status).toBe(401);
    expect((await call('none', 'GET', '/no/such/route')).status).toBe(401);
    expect((await call('read', 'GET', '/no/such/route')).status).toBe(404);
  });

  it('lets read tokens GET and nothing else', async () => {
    expect((await call('read', 'GET', '/api/status')).status).toBe(200);
    expect((await call('read', 'GET', '/api/v1/nodes')).status).toBe(200);
    expect((await call('read', 'GET', '/api/health/state_checksum')).status).toBe(200);
    const write = await call('read', 'POST', '/api/v1/tasks', { kind: 'x' });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('CONCORD_ERR_FORBIDDEN');
    expect((await call('read', 'GET', '/api/cluster/members')).status).toBe(403);
    expect((await call('read', 'GET', '/api/debug/raft_log')).status).toBe(403);
  });

  it('lets client tokens manage files and tasks, not nodes or the cluster', async () => {
    const task = await call('client', 'POST', '/api/v1/tasks', { kind: 'compact' });
    expect(task.status).toBe(201);
    expect((await call('client', 'POST', `/api/v1/tasks/${task.body.id}/cancel`)).status).toBe(200);
    expect((await call('client', 'POST', '/api/v1/files/register', { name: 'f', size: 1, chunks: [] })).status).toBe(201);
    expect((await call('client', 'POST', '/api/v1/nodes/register', { addresses: ['a:1'], storage_capacity: 1 })).status).toBe(403);
    expect((await call('client', 'POST', '/api/v1/tasks/claim', { worker_id: 'w' })).status).toBe(403);
    expect((await call('client', 'POST', '/api/maintenance/enable', {})).status).toBe(403);
    expect((await call('client', 'GET', '/api/v1/tasks')).status).toBe(200);
  });

  it('lets node tokens register, heartbeat, report and work tasks, not submit them', async () => {
    const node = await call('node', 'POST', '/api/v1/nodes/register', { addresses: ['n:1'], storage_capacity: 100 });
    expect(node.status).toBe(201);
    expect((await call('node', 'POST', `/api/v1/nodes/${node.body.id}/heartbeat`, { used_bytes: 1 })).status).toBe(200);
    expect((await call('node', 'POST', '/api/v1/chunks/locations', { node_id: node.body.id, stored: [], lost: [] })).status).toBe(200);
    expect((await call('node', 'POST', '/api/v1/tasks/claim', { worker_id: 'w' })).status).toBe(404); // allowed, queue empty
    expect((await call('node', 'POST', '/api/v1/tasks', { kind: 'x' })).status).toBe(403);
    expect((await call('node', 'POST', '/api/cluster/snapshot')).status).toBe(403);
  });

  it('lets admin tokens do everything', async () => {
    expect((await call('admin', 'GET', '/api/cluster/members')).status).toBe(200);
    expect((await call('admin', 'GET', '/api/debug/raft_log?limit=2')).status).toBe(200);
    expect((await call('admin', 'POST', '/api/maintenance/enable', { reason: 'test' })).status).toBe(200);
    expect((await call('admin', 'POST', '/api/maintenance/disable')).status).toBe(200);
    expect((await call('admin', 'POST', '/api/v1/nodes/register', { addresses: ['m:1'], storage_capacity: 1 })).status).toBe(201);
  });

  it('leaves /raft/* to the cluster signature', async () => {
    const res = await call('none', 'POST', '/raft/append');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('CONCORD_ERR_PEER_UNAUTHORIZED');
  });

  it('logs refusals without the token', async () => {
    await call('unknown', 'GET', '/api/status');
    await call('read', 'POST', '/api/v1/tasks', { kind: 'x' });
    const log = solo.logs.join('');
    expect(log).toContain('refused API request');
    for (const token of [...Object.values(tokens), 'not-a-configured-token-000000']) expect(log).not.toContain(token);
  });
});

describe('role table', () => {
  it('opens probes, leaves raft to the secret and closes unknown writes to all but admin', () => {
    expect(accessFor('GET', '/metrics')).toBe('open');
    expect(accessFor('POST', '/raft/vote')).toBe('peer');
    expect(accessFor('POST', '/api/v1/some/new/write')).toEqual(['admin']);
    expect(accessFor('GET', '/api/backup')).toEqual(['admin']);
    expect(accessFor('GET', '/api/v1/files/:id')).toEqual(['admin', 'node', 'client', 'read']);
    for (const roles of Object.values(WRITE_ROLES)) expect(roles).toContain('admin');
  });

  it('matches tokens by digest and refuses look-alikes', () => {
    const table = new TokenTable([{ token: 'a'.repeat(20), role: 'read' }, { token: 'b'.repeat(20), role: 'admin' }]);
    expect(table.identify(`Bearer ${'b'.repeat(20)}`)?.role).toBe('admin');
    expect(table.identify(`bearer ${'a'.repeat(20)}`)?.role).toBe('read');
    expect(table.identify(`Bearer ${'a'.repeat(21)}`)).toBeNull();
    expect(table.identify(`Bearer ${'a'.repeat(20)} `)).toBeNull();
    expect(table.identify(undefined)).toBeNull();
    expect(table.identify(`Bearer ${'a'.repeat(20)}`)?.tokenId).toMatch(/^[0-9a-f]{12}$/); // a digest prefix, not the token
  });
});
