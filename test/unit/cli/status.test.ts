// `concord status`: endpoint parsing, probing a live and an unreachable node, the table.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEndpoints, probe, renderTable } from '../../../src/cli/status.js';

const app = Fastify();
let live = '';
let dead = '';

beforeAll(async () => {
  app.get('/api/status', async () => ({ node_id: 'n1', role: 'leader', term: 4, current_leader: 'n1', commit_index: 10, applied_index: 9, storage: { healthy: true } }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  live = `127.0.0.1:${(app.server.address() as { port: number }).port}`;
  dead = '127.0.0.1:1'; // nothing listens on port 1 (tcpmux); a free port picked now could be taken later
});
afterAll(() => app.close());

describe('concord status', () => {
  it('accepts space- or comma-separated host:port lists and refuses anything else', () => {
    expect(parseEndpoints(['a:1,b:2', 'c:3'])).toEqual(['a:1', 'b:2', 'c:3']);
    expect(() => parseEndpoints(['nohost'])).toThrow(RangeError);
    // An IPv6 literal goes in brackets, as in a URL; bare it is ambiguous and refused.
    expect(parseEndpoints(['[::1]:8081,[fd00::7]:9000'])).toEqual(['[::1]:8081', '[fd00::7]:9000']);
    expect(() => parseEndpoints(['::1:8081'])).toThrow(RangeError);
    expect(() => parseEndpoints(['[nothex]:1'])).toThrow(RangeError);
  });

  it('shows a reachable node with its lag and an unreachable one as such', async () => {
    const [up, down] = await Promise.all([probe(live), probe(dead, 500)]);
    expect(up).toMatchObject({ reachable: true, node_id: 'n1', role: 'leader', term: 4, lag: 1, healthy: true });
    expect(down.reachable).toBe(false);
    const table = renderTable([up, down]);
    expect(table).toContain('ENDPOINT');
    expect(table).toContain('leader');
    expect(table).toContain('unreachable');
  });
});
