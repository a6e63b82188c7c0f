// `concord cluster --nodes 3`: the real command starts three nodes on consecutive
// ports, they elect one leader, a write through a follower commits, `concord status
// --json` reports them, and SIGINT stops every node and exits cleanly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, runCli } from '../../helpers/cli.js';
import { consecutiveFreePorts } from '../../helpers/ports.js';
import { childrenOf, gone } from '../../helpers/proc.js';
import { ProcessGroup } from '../../helpers/processes.js';
import { settled, waitUntil } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-cli-cluster-'));
const processes = new ProcessGroup();
/** Node processes the cluster command started (its children): killed here if the test fails before they stop. */
const nodePids = new Set<number>();

afterAll(async () => {
  for (const pid of nodePids) if (!gone(pid)) process.kill(pid, 'SIGKILL');
  await processes.killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Status { node_id: string; role: string; term: number; current_leader: string | null; commit_index: number }

async function get(port: number, path: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await request(`http://127.0.0.1:${port}${path}`, { headersTimeout: 2000, bodyTimeout: 2000 });
  return { status: res.statusCode, body: await res.body.json() };
}

async function status(port: number): Promise<Status | null> {
  try {
    const answer = await get(port, '/api/status');
    return answer.status === 200 ? answer.body as Status : null;
  } catch {
    return null;
  }
}

/** Whether anything accepts a connection on the port (an HTTP answer of any kind counts). */
async function answers(port: number): Promise<boolean> {
  try {
    await get(port, '/live');
    return true;
  } catch {
    return false;
  }
}

describe('concord cluster', () => {
  it('runs three nodes with one leader, takes a write through a follower, and stops them all on SIGINT', async () => {
    const base = await consecutiveFreePorts(3);
    const ports = [base, base + 1, base + 2];
    const cluster = processes.start('cluster', process.execPath, [cliPath, 'cluster', '--nodes', '3', '--base-port', String(base), '--data-dir', join(dir, 'data')]);
    const output = () => cluster.output.join('');
    try {
      await waitUntil(() => ports.every((p, i) => output().includes(`node-${i + 1}: http://127.0.0.1:${p}\n`)),
        { timeoutMs: 30_000, what: 'the cluster to print its endpoints' });
      const pids = childrenOf(cluster.process.pid!);
      for (const pid of pids) nodePids.add(pid);
      expect(pids).toHaveLength(3);

      // One leader that every node names, at one term.
      const statuses = await waitUntil(async () => {
        const all = await Promise.all(ports.map(status));
        if (all.some((s) => s === null)) return null;
        const leaders = all.filter((s) => s!.role === 'leader');
        return leaders.length === 1 && all.every((s) => s!.current_leader === leaders[0]!.node_id && s!.term === leaders[0]!.term)
          ? all as Status[] : null;
      }, { timeoutMs: 60_000, what: 'all three nodes to agree on one leader' });
      expect(statuses.map((s) => s.node_id)).toEqual(['node-1', 'node-2', 'node-3']);
      const followerPort = ports[statuses.findIndex((s) => s.role === 'follower')];
      const otherPort = ports[statuses.findIndex((s, i) => s.role === 'follower' && ports[i] !== followerPort)];

      // A write through a follower is forwarded to the leader and readable everywhere (retried across an election, as a client would).
      const res = await settled(async () => {
        const answer = await request(`http://127.0.0.1:${followerPort}/api/v1/tasks`, { method: 'POST',
          headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'via-follower' }), headersTimeout: 10_000, bodyTimeout: 10_000 });
        return { status: answer.statusCode, body: await answer.body.json() as { id: string; kind: string; status: string } };
      }, 'a write through a follower');
      const created = res.body;
      expect(res.status).toBe(201);
      expect(created).toMatchObject({ kind: 'via-follower', status: 'queued' });
      const read = await get(otherPort, `/api/v1/tasks/${created.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: created.id, kind: 'via-follower' });

      // `concord status --json`: one row per node, one leader, all reachable.
      const cli = await runCli(['status', '--nodes', ports.map((p) => `127.0.0.1:${p}`).join(','), '--json'], { timeoutMs: 30_000 });
      expect(cli.code, cli.stderr).toBe(0);
      const rows = JSON.parse(cli.stdout) as { endpoint: string; reachable: boolean; node_id: string; role: string; leader: string }[];
      expect(rows.map((r) => r.endpoint)).toEqual(ports.map((p) => `127.0.0.1:${p}`));
      expect(rows.every((r) => r.reachable)).toBe(true);
      expect(rows.map((r) => r.node_id)).toEqual(['node-1', 'node-2', 'node-3']);
      // One leader that every row names (the one seen above, unless an election moved it since).
      const leaders = rows.filter((r) => r.role === 'leader').map((r) => r.node_id);
      expect(leaders).toHaveLength(1);
      expect(rows.every((r) => r.leader === leaders[0])).toBe(true);

      // Ctrl-C: every node exits and the command exits 0.
      // SIGINT, then SIGKILL after 60 s: a command that did not stop in time exits by signal (null), not 0.
      const code = await processes.kill(cluster, 'SIGINT', 60_000);
      expect(code, output()).toBe(0);
      expect(output()).toContain('stopping all nodes');
      const stopped = [...output().matchAll(/^(node-\d) stopped$/gm)].map((m) => m[1]);
      expect(stopped.sort()).toEqual(['node-1', 'node-2', 'node-3']);
      expect(pids.filter((pid) => !gone(pid))).toEqual([]);
      nodePids.clear(); // gone: their ids may be reused by other processes from now on
      for (const port of ports) expect(await answers(port), `port ${port}`).toBe(false);
    } finally {
      for (const pid of nodePids) if (!gone(pid)) process.kill(pid, 'SIGKILL');
      await processes.kill(cluster, 'SIGKILL');
    }
  });
});
