// Bad input on the write routes of a real single-node Concord: a 400
// CONCORD_ERR_VALIDATION naming the field, and the state unchanged; lease-holder and
// unknown-task errors of the task lifecycle routes.
import { describe, expect, it } from 'vitest';
import { soloForFile } from '../../helpers/solo-server.js';

const { call } = soloForFile('concord-validation-');

const checksum = async () => (await call('GET', '/api/health/state_checksum')).body.checksum as string;

/** Every body is refused with a 400 CONCORD_ERR_VALIDATION whose message names `field`, and the state does not change. */
async function refused(path: string, cases: readonly (readonly [body: unknown, field: string])[]): Promise<void> {
  const before = await checksum();
  for (const [body, field] of cases) {
    const res = await call('POST', path, body);
    expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
    expect(res.body.error.code).toBe('CONCORD_ERR_VALIDATION');
    expect(res.body.error.message).toContain(field);
  }
  expect(await checksum()).toBe(before);
}

describe('files and chunks', () => {
  it('refuses a file without chunks, with a bad chunk hash or a negative size, and registers none', async () => {
    const chunk = { hash: 'h1', size: 1 };
    await refused('/api/v1/files/register', [
      [{ name: 'f', size: 1 }, 'chunks'],
      [{ name: 'f', size: 1, chunks: 'h1' }, 'chunks'],
      [{ name: 'f', size: 1, chunks: [{ hash: 7, size: 1 }] }, 'hash'],
      [{ name: 'f', size: 1, chunks: [{ hash: '', size: 1 }] }, 'hash'],
      [{ name: 'f', size: 1, chunks: [{ hash: 'x'.repeat(129), size: 1 }] }, 'hash'],
      [{ name: 'f', size: 1, chunks: [{ size: 1 }] }, 'hash'],
      [{ name: 'f', size: -1, chunks: [chunk] }, 'size'],
      [{ name: 'f', size: 1, chunks: [{ hash: 'h1', size: -5 }] }, 'size'],
      [{ name: 'f', size: '1', chunks: [chunk] }, 'size'],
      [{ name: 'f', size: 1, replication_factor: 0, chunks: [chunk] }, 'replication_factor'],
      [{ name: '', size: 1, chunks: [chunk] }, 'name'],
    ]);
    expect((await call('GET', '/api/v1/network/stats')).body).toMatchObject({ files: 0, chunks: 0 });
  });

  it('refuses malformed replica reports and chunk-location queries', async () => {
    const node = (await call('POST', '/api/v1/nodes/register', { addresses: ['10.8.0.1:1'], storage_capacity: 100 })).body.id as string;
    await refused('/api/v1/chunks/locations', [
      [{ stored: ['h1'] }, 'node_id'],
      [{ node_id: 5, stored: ['h1'] }, 'node_id'],
      [{ node_id: node, stored: 'h1' }, 'stored'],
      [{ node_id: node, stored: [''] }, 'stored'],
      [{ node_id: node, lost: [3] }, 'lost'],
      [{ node_id: node, stored: [], extra: true }, 'extra'],
    ]);
    const bad = await call('GET', '/api/v1/chunks/h1/locations?consistency=eventual');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', message: expect.stringContaining('consistency') });
    expect((await call('GET', '/api/v1/chunks/h1/locations')).status).toBe(404); // the chunk is still unknown
  });
});

describe('task queue', () => {
  it('refuses a claim without a worker or with wrong types, and leaves the task queued', async () => {
    const task = (await call('POST', '/api/v1/tasks', { kind: 'claim-me' })).body.id as string;
    await refused('/api/v1/tasks/claim', [
      [{}, 'worker_id'],
      [{ lease_ms: 1000 }, 'worker_id'],
      [{ worker_id: 5 }, 'worker_id'],
      [{ worker_id: '' }, 'worker_id'],
      [{ worker_id: 'w', lease_ms: '1000' }, 'lease_ms'],
      [{ worker_id: 'w', lease_ms: 0 }, 'lease_ms'],
      [{ worker_id: 'w', capabilities: 'gpu' }, 'capabilities'],
    ]);
    expect((await call('GET', `/api/v1/tasks/${task}`)).body).toMatchObject({ status: 'queued', worker_id: null });
    // Leave the queue empty for the next test.
    expect((await call('POST', `/api/v1/tasks/${task}/cancel`)).body.status).toBe('cancelled');
  });

  it('refuses renew, complete and fail with wrong types, and from a worker that does not hold the task', async () => {
    const task = (await call('POST', '/api/v1/tasks', { kind: 'lifecycle', max_attempts: 3 })).body.id as string;
    const claimed = (await call('POST', '/api/v1/tasks/claim', { worker_id: 'holder', lease_ms: 600_000 })).body;
    expect(claimed).toMatchObject({ id: task, status: 'running', worker_id: 'holder' });
    await refused(`/api/v1/tasks/${task}/renew`, [
      [{}, 'worker_id'],
      [{ worker_id: 'holder', lease_ms: 'long' }, 'lease_ms'],
      [{ worker_id: 'holder', lease_ms: -1 }, 'lease_ms'],
    ]);
    await refused(`/api/v1/tasks/${task}/complete`, [
      [{ worker_id: 1 }, 'worker_id'],
      [{ worker_id: 'holder', result: 1, extra: 2 }, 'extra'],
    ]);
    await refused(`/api/v1/tasks/${task}/fail`, [
      [{ worker_id: 'holder' }, 'error'],
      [{ worker_id: 'holder', error: 5 }, 'error'],
      [{ worker_id: 'holder', error: 'disk', retry: 'yes' }, 'retry'],
    ]);

    const stranger = { renew: { worker_id: 'other', lease_ms: 1000 }, complete: { worker_id: 'other' }, fail: { worker_id: 'other', error: 'x' } };
    for (const [action, body] of Object.entries(stranger)) {
      const res = await call('POST', `/api/v1/tasks/${task}/${action}`, body);
      expect(res.status, action).toBe(409);
      expect(res.body.error.code).toBe('CONCORD_ERR_NOT_LEASE_HOLDER');
      const unknown = await call('POST', `/api/v1/tasks/no-such-task/${action}`, { ...body, worker_id: 'holder' });
      expect(unknown.status, action).toBe(404);
      expect(unknown.body.error.code).toBe('CONCORD_ERR_NOT_FOUND');
    }
    // Still held by its worker with the lease it was claimed with, no attempt used.
    expect((await call('GET', `/api/v1/tasks/${task}`)).body).toMatchObject({ status: 'running', worker_id: 'holder',
      lease_expires_at: claimed.lease_expires_at, attempts: 0, result: null, error: null });
    // The holder still can: the refusals above did not take the task away.
    expect((await call('POST', `/api/v1/tasks/${task}/complete`, { worker_id: 'holder', result: 'done' })).body).toMatchObject({ status: 'succeeded', result: 'done' });
    // A finished task is held by nobody.
    const late = await call('POST', `/api/v1/tasks/${task}/renew`, { worker_id: 'holder' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('CONCORD_ERR_NOT_LEASE_HOLDER');
  });
});

describe('maintenance', () => {
  it('refuses a reason that is not a string (or too long, or an unknown field) and stays out of maintenance', async () => {
    await refused('/api/maintenance/enable', [
      [{ reason: 5 }, 'reason'],
      [{ reason: ['upgrade'] }, 'reason'],
      [{ reason: 'x'.repeat(1025) }, 'reason'],
      [{ reason: 'upgrade', until: 'tomorrow' }, 'until'],
    ]);
    expect((await call('GET', '/api/v1/network/status')).body.maintenance).toMatchObject({ enabled: false });
    expect((await call('POST', '/api/v1/tasks', { kind: 'still-accepted' })).status).toBe(201);
  });
});
