// What a running node logs: pino JSON with node_id on every line, one line per leader
// change and per snapshot taken, one per refused request class (rate-limited to one per
// code every 10 s).
import { describe, expect, it } from 'vitest';
import { soloForFile } from '../../helpers/solo-server.js';

const { call, logs } = soloForFile('concord-log-lines-', { log_level: 'info' });

const lines = () => logs().flatMap((chunk) => chunk.split('\n')).filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
const withMsg = (msg: string) => lines().filter((l) => l.msg === msg);

describe('node log lines', () => {
  it('are JSON with node_id on every line; one line per leader change, snapshot and refused request class', async () => {
    expect(withMsg('leader changed')).toEqual([expect.objectContaining({ leader: 'solo', node_id: 'solo' })]);
    expect((await call('POST', '/api/v1/tasks', { kind: 'k' })).status).toBe(201);
    expect((await call('POST', '/api/cluster/snapshot')).status).toBe(200);
    expect(withMsg('snapshot taken')).toEqual([expect.objectContaining({ index: expect.any(Number), node_id: 'solo' })]);
    for (let i = 0; i < 3; i++) expect((await call('POST', '/api/v1/tasks', { kind: 7 })).status).toBe(400);
    expect((await call('POST', '/api/v1/tasks', { kind: 'k' }, { 'idempotency-key': '' })).status).toBe(400);
    expect(withMsg('refused API request')).toEqual([expect.objectContaining({ code: 'CONCORD_ERR_VALIDATION', status: 400, route: '/api/v1/tasks',
      reason: 'body.kind must be string', suppressed: 0, node_id: 'solo' })]);
    const all = lines();
    expect(all.length).toBeGreaterThan(3);
    expect(all.filter((l) => l.node_id !== 'solo')).toEqual([]);
  });
});
