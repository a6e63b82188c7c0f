// The leader proposes the liveness sweep on its own, every max(1 s, 20 heartbeat
// intervals): a node that stops heartbeating is swept to dead (through inactive), and an expired
// task lease goes back to the queue, with no client asking.
import { describe, expect, it } from 'vitest';
import { soloForFile } from '../../helpers/solo-server.js';
import { waitUntil } from '../../helpers/wait.js';

const { call } = soloForFile('concord-sweep-', { log_level: 'warn', heartbeat_interval: 50, node_timeout: 300, node_inactive_after: 600 });

describe('the periodic sweep', () => {
  it('sweeps a silent node from active to dead and requeues an expired lease', async () => {
    const node = (await call('POST', '/api/v1/nodes/register', { addresses: ['10.0.0.1:1'], storage_capacity: 100 })).body.id as string;
    const task = (await call('POST', '/api/v1/tasks', { kind: 'k', max_attempts: 3 })).body.id as string;
    expect((await call('POST', '/api/v1/tasks/claim', { worker_id: 'w1', lease_ms: 100 })).body).toMatchObject({ id: task, status: 'running' });
    const seen = new Set<string>();
    await waitUntil(async () => {
      seen.add((await call('GET', `/api/v1/nodes/${node}`)).body.status as string);
      return seen.has('dead');
    }, { timeoutMs: 20_000, intervalMs: 100, what: 'the silent node to be swept to dead' });
    // The sweep runs at most once a second and inactive lasts 300 ms of node time, so a poll may miss it; the order is what counts.
    expect([...seen][0]).toBe('active');
    expect([...seen].at(-1)).toBe('dead');
    const requeued = (await call('GET', `/api/v1/tasks/${task}`)).body;
    expect(requeued).toMatchObject({ status: 'queued', attempts: 1 });
  });
});
