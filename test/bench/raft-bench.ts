// Raft driver benchmark: a 3-node cluster of kv-node processes on loopback.
// Measures proposals/s with 64 concurrent proposers, entries per fsync, commit
// latency percentiles, and failover time after kill -9 of the leader.
// Run: npm run build && node dist/test/bench/raft-bench.js [--seconds 10] [--rounds 10]
import { request } from 'undici';
import { exitOnInterrupt } from '../helpers/interrupt.js';
import { KvCluster } from '../integration/kv-cluster.js';
import { median, percentile, round } from './stats.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
exitOnInterrupt();
const seconds = Number(args.get('seconds') ?? 10);
const rounds = Number(args.get('rounds') ?? 10);
const concurrency = Number(args.get('concurrency') ?? 64);

async function storage(cluster: KvCluster, id: string): Promise<{ fsyncs: number; entriesSynced: number }> {
  const res = await request(`http://127.0.0.1:${cluster.port(id)}/storage`);
  return (await res.body.json()) as { fsyncs: number; entriesSynced: number };
}

async function throughput(cluster: KvCluster, leader: string) {
  const before = await storage(cluster, leader);
  const latencies: number[] = [];
  let failures = 0;
  const deadline = Date.now() + seconds * 1000;
  let sequence = 0;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    while (Date.now() < deadline) {
      const started = performance.now();
      const ok = await cluster.put(leader, `k${worker}-${sequence++}`, 'x'.repeat(100));
      if (ok) latencies.push(performance.now() - started);
      else failures++;
    }
  }));
  const after = await storage(cluster, leader);
  const fsyncs = after.fsyncs - before.fsyncs;
  return {
    proposals_per_second: round(latencies.length / seconds),
    failures,
    p50_ms: round(median(latencies), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    leader_fsyncs: fsyncs,
    entries_per_fsync: round((after.entriesSynced - before.entriesSynced) / Math.max(1, fsyncs), 1),
  };
}

async function failover(cluster: KvCluster) {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const leader = await cluster.waitLeader();
    await cluster.put(leader, 'warm', String(i));
    const others = cluster.ids.filter((id) => id !== leader);
    const started = performance.now();
    await cluster.kill(leader);
    // Time until a write is accepted by the new leader.
    for (let attempt = 0; attempt < 10_000; attempt++) {
      if (await cluster.put(others[attempt % others.length], 'probe', String(i))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    times.push(performance.now() - started);
    cluster.start(leader);
    await cluster.waitLeader();
  }
  return { rounds, median_ms: round(median(times)), max_ms: round(Math.max(...times)), samples_ms: times.map((t) => round(t)) };
}

const cluster = new KvCluster(3, 10_000, 1_000);
try {
  await cluster.init();
  for (const id of cluster.ids) cluster.start(id);
  const leader = await cluster.waitLeader();
  console.error(`leader ${leader}; writing for ${seconds} s with ${concurrency} clients`);
  const write = await throughput(cluster, leader);
  const fail = await failover(cluster);
  const result = { bench: 'raft-driver', nodes: 3, concurrency, seconds, write, failover: fail };
  console.log(JSON.stringify(result, null, 2));
} catch (error) {
  for (const [id, child] of cluster.children) console.error(`--- ${id}\n${child.output.join('').slice(-2000)}`);
  throw error;
} finally {
  await cluster.close();
}
