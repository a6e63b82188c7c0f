// The follower → leader forwarder: a per-request timeout can outlast the agent's
// default (membership changes may take the leader 4 × request_timeout_ms). And
// runOnLeader, the one "run on the leader, else forward to it" path every write,
// membership change and leadership transfer takes.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RaftError, type PeerEndpoint, type RaftNodeHandle } from '../../../raft/node-api.js';
import { Forwarder, runOnLeader } from '../../../src/api/forward.js';
import type { AppParts } from '../../../src/api/http.js';

let leader: FastifyInstance;
let follower: FastifyInstance;
let leaderPort = 0;
const forwarder = new Forwarder({ timeoutMs: 200 });

// What the fake Raft handle says and what the action does, set by each runOnLeader test.
const node = { leading: true, leader: null as PeerEndpoint | null, action: async (): Promise<unknown> => ({ ran: true }) };
const parts = {
  config: { node_id: 'me' },
  raft: { isLeader: () => node.leading, leader: () => node.leader } as unknown as RaftNodeHandle,
} as unknown as Pick<AppParts, 'raft' | 'config'>;

beforeAll(async () => {
  leader = Fastify();
  leader.post('/run', async (_request, reply) => reply.header('retry-after', '7').code(202).send({ on: 'leader' }));
  // Answers after the time the request names. undici checks timeouts about once a second,
  // so the agent's 200 ms default fires after about 1 s: 2.5 s is safely beyond it.
  leader.post('/slow', async (request) => {
    await new Promise((resolve) => setTimeout(resolve, (request.body as { ms: number }).ms));
    return { done: true };
  });
  await leader.listen({ host: '127.0.0.1', port: 0 });
  leaderPort = (leader.server.address() as { port: number }).port;
  follower = Fastify();
  follower.post('/slow', (request, reply) => {
    const timeoutMs = (request.query as { timeout?: string }).timeout;
    return forwarder.forward({ host: '127.0.0.1', port: leaderPort }, request, reply, timeoutMs === undefined ? undefined : Number(timeoutMs));
  });
  follower.post('/run', (request, reply) => {
    const timeoutMs = (request.query as { timeout?: string }).timeout;
    return runOnLeader(parts, forwarder, request, reply, () => node.action(), timeoutMs === undefined ? undefined : Number(timeoutMs));
  });
  await follower.ready();
});
afterAll(async () => {
  await follower.close();
  await leader.close();
  await forwarder.close();
});

describe('Forwarder', () => {
  it('gives up after the default timeout with OUTCOME_UNKNOWN, and waits longer when asked', async () => {
    const quick = await follower.inject({ method: 'POST', url: '/slow', payload: { ms: 2500 } });
    expect(quick.statusCode).toBe(504);
    expect(quick.json().error.code).toBe('CONCORD_ERR_OUTCOME_UNKNOWN');
    const patient = await follower.inject({ method: 'POST', url: '/slow?timeout=10000', payload: { ms: 2500 } });
    expect(patient.statusCode).toBe(200);
    expect(patient.json()).toEqual({ done: true });
  });
});

describe('runOnLeader', () => {
  const run = (query = '') => follower.inject({ method: 'POST', url: `/run${query}`, payload: {} });
  const leaderEndpoint = (): PeerEndpoint => ({ id: 'other', host: '127.0.0.1', port: leaderPort });

  it('runs the action on the leader and answers with what it returns', async () => {
    Object.assign(node, { leading: true, leader: null, action: async () => ({ ran: true }) });
    const res = await run();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ran: true });
  });

  it('forwards from a follower with the timeout given, passing status and Retry-After back', async () => {
    const action = vi.fn(async () => ({ ran: true }));
    Object.assign(node, { leading: false, leader: leaderEndpoint(), action });
    const spy = vi.spyOn(forwarder, 'forward');
    try {
      const res = await run('?timeout=4321');
      expect(res.statusCode).toBe(202);
      expect(res.headers['retry-after']).toBe('7');
      expect(res.json()).toEqual({ on: 'leader' });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.[3]).toBe(4321);
      expect(action).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('forwards when leadership moves while the action runs (NOT_LEADER)', async () => {
    Object.assign(node, { leading: true, leader: leaderEndpoint(), action: async () => { throw new RaftError('CONCORD_ERR_NOT_LEADER', 'moved'); } });
    const res = await run();
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ on: 'leader' });
  });

  it('answers other Raft errors with their code, status and Retry-After', async () => {
    Object.assign(node, { leading: true, leader: null, action: async () => { throw new RaftError('CONCORD_ERR_BUSY', 'too many'); } });
    const busy = await run();
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.json()).toEqual({ error: { code: 'CONCORD_ERR_BUSY', message: 'too many' } });
    Object.assign(node, { action: async () => { throw new RaftError('CONCORD_ERR_CONF_CHANGE_PENDING', 'one at a time'); } });
    expect((await run()).statusCode).toBe(409);
  });

  it('lets errors that are not Raft errors through', async () => {
    Object.assign(node, { leading: true, leader: null, action: async () => { throw new Error('boom'); } });
    const res = await run();
    expect(res.statusCode).toBe(500);
    expect(res.json().message).toBe('boom');
  });

  it('answers NO_LEADER (503, Retry-After) on a follower that knows no leader, or names itself', async () => {
    for (const known of [null, { id: 'me', host: '127.0.0.1', port: leaderPort }]) {
      Object.assign(node, { leading: false, leader: known, action: async () => ({ ran: true }) });
      const res = await run();
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json().error.code).toBe('CONCORD_ERR_NO_LEADER');
    }
  });

  it('redirects to the leader with 307 when asked (?redirect=true)', async () => {
    Object.assign(node, { leading: false, leader: leaderEndpoint(), action: async () => ({ ran: true }) });
    const res = await run('?redirect=true');
    expect(res.statusCode).toBe(307);
    expect(res.headers.location).toBe(`http://127.0.0.1:${leaderPort}/run?redirect=true`);
  });

  it('brackets an IPv6 leader in the URL it forwards and redirects to', async () => {
    Object.assign(node, { leading: false, leader: { id: 'other', host: '::1', port: 8443 }, action: async () => ({ ran: true }) });
    const res = await run('?redirect=true');
    expect(res.statusCode).toBe(307);
    expect(res.headers.location).toBe('http://[::1]:8443/run?redirect=true');
  });
});
