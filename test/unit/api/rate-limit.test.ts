// Per-client rate limiting on a real single-node Concord: keyed by token (else IP),
// 429 with CONCORD_ERR_RATE_LIMITED and Retry-After, probes and /metrics exempt,
// requests forwarded by a cluster member not counted twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARDED_HEADER } from '../../../src/api/forward.js';
import { sign } from '../../../raft/transport/index.js';
import { startSolo, type SoloServer } from '../../helpers/solo-server.js';
import { waitUntil } from '../../helpers/wait.js';

const MAX = 5;
const secret = 'rate-limit-test-secret-0123';
const tokenA = 'token-a-0123456789abcdefgh';
const tokenB = 'token-b-0123456789abcdefgh';
const dir = mkdtempSync(join(tmpdir(), 'concord-ratelimit-'));
let solo: SoloServer;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:${solo.port}${path}`, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text.startsWith('{') ? JSON.parse(text) : text };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  solo = await startSolo(dir, 'limited', {
    cluster_secret: secret, rate_limit: { enabled: true, max: MAX, window_ms: 60_000 },
    auth: { enabled: true, tokens: [{ token: tokenA, role: 'read' }, { token: tokenB, role: 'read' }] },
  });
  await waitUntil(async () => (await get('/ready')).status === 200, { timeoutMs: 15_000, what: 'the node to be ready' });
});
afterAll(async () => {
  await solo?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Spend a client's budget (whatever earlier tests left of it); the status of the last request. */
async function exhaust(headers: Record<string, string>): Promise<number> {
  let status = 0;
  for (let i = 0; i <= MAX && status !== 429; i++) status = (await get('/api/status', headers)).status;
  return status;
}

describe('rate limiting', () => {
  it('answers 429 with the standard body and headers once a token used its budget; other tokens are unaffected', async () => {
    for (let i = 0; i < MAX; i++) {
      const ok = await get('/api/status?consistency=stale', bearer(tokenA));
      expect(ok.status).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe(String(MAX));
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(MAX - i - 1));
    }
    const limited = await get('/api/status', bearer(tokenA));
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { code: 'CONCORD_ERR_RATE_LIMITED', message: expect.stringContaining('rate limit') } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect((await get('/api/status', bearer(tokenB))).status).toBe(200);
  });

  it('counts requests without a known token by IP, so guessing tokens is limited too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= MAX; i++) statuses.push((await get('/api/status', bearer(`guess-${i}-0123456789abcdef`))).status);
    expect(statuses.slice(0, MAX).every((s) => s === 401)).toBe(true);
    expect(statuses[MAX]).toBe(429);
  });

  it('never limits probes, /metrics or /raft/*', async () => {
    for (let i = 0; i < MAX * 3; i++) {
      for (const path of ['/live', '/health', '/metrics']) expect((await get(path)).status, path).toBe(200);
    }
    // Past this IP's budget, still the cluster signature decides, not the limiter.
    expect(await exhaust({})).toBe(429);
    for (let i = 0; i <= MAX; i++) {
      const raft = await request(`http://127.0.0.1:${solo.port}/raft/vote`, { method: 'POST' });
      expect(raft.statusCode).toBe(401);
      expect(raft.headers['x-ratelimit-limit']).toBeUndefined();
      await raft.body.dump();
    }
  });

  it('does not count a request a cluster member forwarded (signed with the cluster secret)', async () => {
    const path = '/api/v1/nodes?consistency=stale';
    const forwarded = () => ({ ...bearer(tokenA), [FORWARDED_HEADER]: sign(secret, 'GET', path, Buffer.from(`Bearer ${tokenA}`), Date.now()) });
    expect(await exhaust(bearer(tokenA))).toBe(429);
    expect((await get(path, forwarded())).status).toBe(200); // tokenA is exhausted, yet the forwarded call passes
    const forged = { ...bearer(tokenA), [FORWARDED_HEADER]: sign('some-other-secret-0123456', 'GET', path, Buffer.from(`Bearer ${tokenA}`), Date.now()) };
    expect((await get(path, forged)).status).toBe(429);
  });
});
