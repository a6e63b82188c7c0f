// The wrk load generator of the server benchmark: its summary line is parsed, and
// against two loopback servers it spreads its threads over both targets, cycles
// through every request of the list with its body and content type intact (byte for
// byte: quotes, brackets, CR LF, non-ASCII), and counts answers ≥ 400 as failures.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWrkSummary, runWrk, wrkVersion } from '../../bench/wrk-load.js';
import { ciToolsRequired } from '../../helpers/promtool.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Seen { count: number; paths: Map<string, number>; bodies: Set<string>; types: Set<string> }

async function server(): Promise<{ origin: string; seen: Seen }> {
  const seen: Seen = { count: 0, paths: new Map(), bodies: new Set(), types: new Set() };
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      seen.count++;
      seen.paths.set(req.url ?? '', (seen.paths.get(req.url ?? '') ?? 0) + 1);
      if (req.method === 'POST') {
        seen.bodies.add(body);
        seen.types.add(req.headers['content-type'] ?? '');
      }
      res.writeHead(req.url === '/fail' ? 500 : 201, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(s.address() as { port: number }).port}`, seen };
}

describe('wrk load generator', () => {
  it('parses the summary its script prints, and says so when there is none', () => {
    const line = 'CONCORD-WRK {"requests":10,"duration_us":1000000,"cpu_s":0.5,"connect":0,"read":0,"write":0,"status":2,"timeout":0,"p50_us":900,"p99_us":4000}';
    expect(parseWrkSummary(`Running 1s test\n${line}\n`)).toMatchObject({ requests: 10, status: 2, p99_us: 4000 });
    expect(() => parseWrkSummary('unable to connect')).toThrow(/no summary/);
  });

  it('spreads over every target, cycles through the requests and counts errors', async () => {
    if (wrkVersion() === null && !ciToolsRequired()) return;
    expect(wrkVersion(), 'wrk must be installed here (Debian package wrk)').not.toBeNull();
    const a = await server();
    const b = await server();
    const tricky = `${JSON.stringify({ text: 'ends ]] and ]=] "quoted" \\ é' })}\r\nnext line a]`;
    const result = await runWrk({
      targets: [a.origin, b.origin], concurrency: 4, seconds: 1, okStatus: 201,
      requests: [{ method: 'GET', path: '/one' }, { method: 'GET', path: '/two?x=1' }, { method: 'POST', path: '/post', body: tricky }, { method: 'GET', path: '/fail' }],
    });
    expect(result.concurrency).toBe(4);
    for (const { seen } of [a, b]) {
      expect(seen.count).toBeGreaterThan(8);
      expect([...seen.paths.keys()].sort()).toEqual(['/fail', '/one', '/post', '/two?x=1']);
      expect([...seen.bodies]).toEqual([tricky]);
      expect([...seen.types]).toEqual(['application/json']);
    }
    const served = a.seen.count + b.seen.count;
    const fails = (a.seen.paths.get('/fail') ?? 0) + (b.seen.paths.get('/fail') ?? 0);
    // Requests still in flight when wrk stops were served but not counted: at most one per client.
    expect(served - (result.ok + result.failed)).toBeGreaterThanOrEqual(0);
    expect(served - (result.ok + result.failed)).toBeLessThanOrEqual(4);
    expect(Math.abs(result.failures['status>=400']! - fails)).toBeLessThanOrEqual(4);
    expect(result.failed).toBe(result.failures['status>=400']);
    expect(result.p99_ms).toBeGreaterThanOrEqual(result.p50_ms);
    expect(result.generator_cpu_seconds).toBeGreaterThan(0);
  });
});
