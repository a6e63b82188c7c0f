// Same-conditions control for the server benchmark: the bare Raft driver (3 kv-node
// fixture processes: WAL, transport, no HTTP API, no DuckDB) under the same load
// generator. On a shared, noisy machine the ratio to this says more than absolute numbers.
import { KvCluster } from '../integration/kv-cluster.js';
import { generatorCores, runLoad, type LoadResult } from './load.js';
import { coresUsed, cpuSeconds } from './node-probes.js';
import type { CaseSettings } from './server-cases.js';

/** Keys the puts cycle through (each put overwrites one). */
const KEYS = 4096;

export interface BaselineResult extends LoadResult { readonly cores: Record<string, number>; readonly cpu_ms_per_op: number }

export async function kvBaseline(settings: CaseSettings): Promise<BaselineResult> {
  const cluster = new KvCluster(3, 10_000, 1_000);
  try {
    await cluster.init();
    for (const id of cluster.ids) cluster.start(id);
    const leader = await cluster.waitLeader();
    const value = JSON.stringify({ value: 'x'.repeat(60) });
    const snapshot = () => Object.fromEntries(cluster.ids.map((id) => [id, cpuSeconds(cluster.children.get(id)?.process.pid)]));
    const before = snapshot();
    const started = performance.now();
    const result = await runLoad({ targets: [`http://127.0.0.1:${cluster.port(leader)}`], concurrency: settings.concurrency, seconds: settings.seconds,
      okStatus: 200, requests: Array.from({ length: KEYS }, (_, k) => ({ method: 'PUT', path: `/kv/k${k}`, body: value })) }, settings.generator);
    const elapsed = (performance.now() - started) / 1000;
    const cores = { loadgen: generatorCores(result, elapsed), ...coresUsed(before, snapshot(), elapsed) };
    const cpu = Object.values(cores).reduce((a, b) => a + b, 0);
    return { ...result, cores, cpu_ms_per_op: Math.round((cpu / Math.max(1, result.per_second)) * 1000 * 100) / 100 };
  } finally {
    await cluster.close();
  }
}
