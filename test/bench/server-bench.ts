// Server benchmark (issue 5): local clusters of 1, 3 and 5 real `concord server`
// processes on 127.0.0.1, loaded by 64 concurrent keep-alive HTTP clients (wrk, or
// undici in this process: load.ts). Per cluster: task submit and node register throughput and latency,
// linearizable reads on the leader and on every node, stale reads, RSS per node
// after the load, and failover after kill -9 of the leader (3 and 5 nodes).
// Then, as a same-conditions control, the bare Raft driver (kv-node fixture) under
// the same load. Prints tables with the ratios to the DESIGN targets, writes JSON.
//
// Run: npm run bench -- server [--seconds 5] [--repeats 1] [--rounds 10] [--sizes 1,3,5]
//        [--concurrency 64] [--baseline true] [--node-config JSON] [--node-flags '--flag …'] [--cases a,b] [--loadgen wrk|undici] [--out reports/server-bench.json]
//      npm run bench -- server --profile reports/server-profile [--profile-case task_submit] [--profile-nodes 3]
// Every option can also be given as SERVER_BENCH_<NAME> (e.g. SERVER_BENCH_SECONDS=10).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { exitOnInterrupt } from '../helpers/interrupt.js';
import { ServerCluster } from '../helpers/server-cluster.js';
import { etcdComparison } from './etcd-compare.js';
import { failover } from './failover.js';
import { kvBaseline } from './kv-baseline.js';
import { rssBytes } from './node-probes.js';
import { benchOptions } from './options.js';
import { caseNames, runCase, seedTasks, serverCases, type CaseResult, type CaseSettings } from './server-cases.js';
import { profileCase } from './server-profile.js';
import type { Generator } from './load.js';
import { wrkVersion } from './wrk-load.js';
import { checkTargets, renderReport, type ClusterResult } from './server-report.js';

const options = benchOptions('SERVER_BENCH', `usage: node dist/test/bench/server-bench.js [--seconds 5] [--repeats 1] [--rounds 10] [--sizes 1,3,5]
  [--concurrency 64] [--baseline true] [--node-config JSON] [--node-flags '--flag …'] [--cases a,b] [--loadgen wrk|undici] [--out reports/server-bench.json]
  [--profile DIR [--profile-case task_submit] [--profile-nodes 3]]
--cases: only these cases. --loadgen: wrk (default when installed) or undici.
Every option can also be given as SERVER_BENCH_<NAME> (e.g. SERVER_BENCH_SECONDS=10).`);
exitOnInterrupt();
const settings: CaseSettings = {
  seconds: options.number('seconds', 5),
  concurrency: options.number('concurrency', 64),
  repeats: Math.max(1, options.number('repeats', 1)),
  generator: chooseGenerator(options.text('loadgen', 'auto')),
};

/** wrk when it is installed (or asked for), else undici; a bad or unusable choice exits 2. */
function chooseGenerator(asked: string): Generator {
  const wrk = wrkVersion();
  if (asked === 'undici' || (asked === 'auto' && wrk === null)) {
    if (asked === 'auto') process.stderr.write('wrk is not installed (Debian package wrk): the load comes from undici in this process\n');
    return 'undici';
  }
  if (asked !== 'wrk' && asked !== 'auto') {
    process.stderr.write(`--loadgen ${asked}: expected wrk or undici\n`);
    process.exit(2);
  }
  if (wrk === null) {
    process.stderr.write('--loadgen wrk: wrk is not installed (Debian package wrk)\n');
    process.exit(2);
  }
  return 'wrk';
}
const rounds = options.number('rounds', 10);
const sizes = options.text('sizes', '1,3,5').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const profileDir = options.text('profile', '');
const only = new Set(options.text('cases', '').split(',').filter((name) => name !== ''));
const known = caseNames(3);
const unknown = [...only].filter((name) => !known.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown case(s) ${unknown.join(', ')}; the cases are ${known.join(', ')}\n`);
  process.exit(2);
}
// Extra config keys for every node, for A/B runs, e.g. --node-config '{"snapshot_threshold":100000,"max_log_size":200000}'.
const nodeConfig = JSON.parse(options.text('node-config', '{}')) as Record<string, unknown>;
// Extra `node` flags for every node process, for A/B runs of V8 settings, e.g. --node-flags=--single-threaded-gc (space-separated).
const nodeFlags = options.text('node-flags', '').split(' ').filter((flag) => flag !== '');
const out = resolve(options.text('out', profileDir === '' ? 'reports/server-bench.json' : 'reports/server-profile.json'));
const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform };

function save(result: unknown): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`results written to ${out}\n`);
}

async function benchCluster(nodes: number): Promise<ClusterResult> {
  const cluster = new ServerCluster(nodes, { config: nodeConfig, nodeFlags: () => nodeFlags });
  try {
    await cluster.init();
    cluster.startAll();
    const leader = await cluster.leader();
    process.stderr.write(`${nodes} node(s), leader ${leader}: ${settings.concurrency} clients (${settings.generator}), ${settings.seconds} s × ${settings.repeats} per case\n`);
    const cases: CaseResult[] = [];
    for (const spec of serverCases(nodes, await seedTasks(cluster, leader)).filter((s) => only.size === 0 || only.has(s.name))) {
      const result = await runCase(cluster, spec, settings);
      process.stderr.write(`  ${spec.name}: ${result.per_second}/s p50 ${result.p50_ms} ms p99 ${result.p99_ms} ms, ${result.failed} failed\n`);
      cases.push(result);
    }
    const rss_mib: Record<string, number | null> = {};
    for (const id of cluster.ids) {
      const bytes = await rssBytes(cluster, id);
      rss_mib[id] = bytes === null ? null : Math.round(bytes / 1048576);
    }
    const fail = nodes > 1 && rounds > 0 ? await failover(cluster, rounds) : null;
    return { nodes, cases, rss_mib, failover: fail };
  } catch (error) {
    process.stderr.write(cluster.output());
    throw error;
  } finally {
    await cluster.close();
  }
}

if (profileDir !== '') {
  const result = await profileCase(settings, resolve(profileDir), options.text('profile-case', 'task_submit'), options.number('profile-nodes', 3), nodeConfig);
  save({ bench: 'server-profile', machine, settings, ...result });
} else {
  const started = new Date().toISOString();
  const loadAtStart = loadavg();
  const results: ClusterResult[] = [];
  for (const nodes of sizes) results.push(await benchCluster(nodes));
  const baseline = options.text('baseline', 'true') === 'true' ? await kvBaseline(settings) : null;
  const etcd = await etcdComparison(settings);
  const checks = checkTargets(results);
  process.stdout.write(`${renderReport(results, checks, baseline)}\n`);
  if (etcd.skipped) process.stdout.write(`etcd: ${etcd.reason}\n`);
  else process.stdout.write(`etcd (3 nodes, same load generator): ${JSON.stringify(etcd.cases)}\n`);
  save({ bench: 'server', started, machine, load_average: { start: loadAtStart, end: loadavg() }, settings: { ...settings, rounds, sizes, node_config: nodeConfig }, results, targets: checks, kv_baseline: baseline, etcd });
}
