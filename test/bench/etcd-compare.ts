// Optional side-by-side: a 3-member etcd cluster (the `etcd` binary, e.g. Debian's
// etcd-server, if it is on PATH) under the same load generator, through its JSON
// gateway: puts, linearizable ranges on the leader and on every member, and
// serializable (stale) ranges. Skipped when etcd is not installed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { scratchDir } from '../helpers/interrupt.js';
import { freePorts } from '../helpers/ports.js';
import { ProcessGroup } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { runLoad, type LoadRequest, type LoadResult } from './load.js';
import type { CaseSettings } from './server-cases.js';

export type EtcdResult = { skipped: true; reason: string } | { skipped: false; version: string; cases: Record<string, LoadResult> };

const b64 = (s: string) => Buffer.from(s).toString('base64');

export async function etcdComparison(settings: CaseSettings, members = 3): Promise<EtcdResult> {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return { skipped: true, reason: 'the etcd binary is not installed; comparison skipped' };
  const version = /etcd Version: (\S+)/.exec(probe.stdout)?.[1] ?? 'unknown';
  const group = new ProcessGroup();
  const scratch = scratchDir('concord-etcd-');
  const dir = scratch.path;
  try {
    const ports = await freePorts(members * 2);
    const names = Array.from({ length: members }, (_, i) => `e${i + 1}`);
    const client = (i: number) => `http://127.0.0.1:${ports[i]}`;
    const peer = (i: number) => `http://127.0.0.1:${ports[members + i]}`;
    const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
    for (const [i, name] of names.entries()) {
      group.start(name, 'etcd', ['--name', name, '--data-dir', join(dir, name), '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
        '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i), '--initial-cluster', initial, '--initial-cluster-state', 'new',
        '--initial-cluster-token', 'concord-bench', '--heartbeat-interval', '50', '--election-timeout', '300', '--log-level', 'warn']);
    }
    const post = async (origin: string, path: string, body: unknown) => {
      const res = await request(`${origin}${path}`, { method: 'POST', body: JSON.stringify(body), headersTimeout: 2000, bodyTimeout: 2000 });
      return (await res.body.json()) as Record<string, unknown>;
    };
    const leader = await waitUntil(async () => {
      for (let i = 0; i < members; i++) {
        const s = await post(client(i), '/v3/maintenance/status', {}).catch(() => null) as { leader?: string; header?: { member_id?: string } } | null;
        if (s?.leader !== undefined && s.leader !== '0' && s.leader === s.header?.member_id) return client(i);
      }
      return null;
    }, { timeoutMs: 20_000, what: 'an etcd leader' });
    const all = names.map((_, i) => client(i));
    const keys = Array.from({ length: 4096 }, (_, k) => b64(`k${k}`));
    const put: LoadRequest[] = keys.map((key) => ({ method: 'POST', path: '/v3/kv/put', body: JSON.stringify({ key, value: b64('x'.repeat(40)) }) }));
    const range = (extra: object): LoadRequest[] => keys.map((key) => ({ method: 'POST', path: '/v3/kv/range', body: JSON.stringify({ key, ...extra }) }));
    const load = (targets: string[], requests: LoadRequest[]) =>
      runLoad({ targets, requests, okStatus: 200, concurrency: settings.concurrency, seconds: settings.seconds }, settings.generator);
    process.stderr.write(`etcd ${version}: 3 members\n`);
    const cases: Record<string, LoadResult> = {};
    cases.put_leader = await load([leader], put);
    cases.range_linearizable_leader = await load([leader], range({}));
    cases.range_linearizable_all = await load(all, range({}));
    cases.range_serializable_all = await load(all, range({ serializable: true }));
    return { skipped: false, version, cases };
  } finally {
    await group.killAll();
    scratch.remove();
  }
}
