// The follower → leader forwarder: a per-request timeout can outlast the agent's
// default (membership changes may take the leader 4 × request_timeout_ms).
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Forwarder } from '../../../src/api/forward.js';

let leader: FastifyInstance;
let follower: FastifyInstance;
let leaderPort = 0;
const forwarder = new Forwarder({ timeoutMs: 200 });

beforeAll(async () => {
  leader = Fastify();
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
