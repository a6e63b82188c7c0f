// Failover of a concord server cluster: kill -9 the leader and time until a
// surviving node accepts a write (followers forward to the new leader); then
// restart the killed node and wait for it to catch up before the next round.
import type { ServerCluster } from '../helpers/server-cluster.js';
import { median, round } from './stats.js';

export interface FailoverResult {
  readonly rounds: number;
  readonly median_ms: number;
  readonly max_ms: number;
  readonly samples_ms: readonly number[];
  /** Time for the restarted node to catch up, per round. */
  readonly catch_up_ms: readonly number[];
}

const PROBE = { kind: 'failover-probe' };

async function accepted(cluster: ServerCluster, id: string): Promise<boolean> {
  try {
    return (await cluster.call(id, 'POST', '/api/v1/tasks', PROBE, 2000)).status === 201;
  } catch {
    return false;
  }
}

export async function failover(cluster: ServerCluster, rounds: number): Promise<FailoverResult> {
  const times: number[] = [];
  const catchUp: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const leader = await cluster.leader();
    if (!(await accepted(cluster, leader))) throw new Error(`leader ${leader} refused a write before round ${i}`);
    const survivors = cluster.live().filter((id) => id !== leader);
    const started = performance.now();
    await cluster.stop(leader, 'SIGKILL');
    let ok = false;
    for (let attempt = 0; attempt < 20_000 && !ok; attempt++) {
      ok = await accepted(cluster, survivors[attempt % survivors.length]);
      if (!ok) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (!ok) throw new Error(`no write accepted after killing ${leader}`);
    times.push(performance.now() - started);
    const restarted = performance.now();
    cluster.start(leader);
    await cluster.caughtUp(leader);
    catchUp.push(round(performance.now() - restarted));
    process.stderr.write(`  failover round ${i + 1}/${rounds}: ${round(times[i])} ms (catch-up ${catchUp[i]} ms)\n`);
  }
  return { rounds, median_ms: round(median(times)), max_ms: round(Math.max(...times)), samples_ms: times.map((t) => round(t)), catch_up_ms: catchUp };
}
