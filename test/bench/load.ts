// Closed-loop HTTP load: N concurrent clients, each sending its next request as soon
// as the previous one answered, for a fixed time, cycling through a list of requests.
// Two generators: undici keep-alive pools in this process (client i uses target i mod
// targets), or wrk (wrk-load.ts), which costs the shared cores far less per request.
// Reports throughput and latency percentiles of the successful requests (with wrk: of
// every answer, and any status below 400 counts as success).
import { Pool } from 'undici';
import { percentile, round } from './stats.js';
import { runWrk } from './wrk-load.js';

export interface LoadRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly body?: string;
}

export interface LoadSpec {
  readonly targets: readonly string[];
  readonly concurrency: number;
  readonly seconds: number;
  /** Cycled through: request k of the run is `requests[k mod length]` (each wrk thread starts at its own offset). */
  readonly requests: readonly LoadRequest[];
  /** Answers with this status count as successes. */
  readonly okStatus: number;
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly per_second: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** Failure statuses (or error codes) and how often each happened. */
  readonly failures: Record<string, number>;
  /** Clients actually run (wrk rounds to a multiple of the targets). */
  readonly concurrency: number;
  /** CPU seconds the load generator itself used. */
  readonly generator_cpu_seconds: number;
}

export type Generator = 'undici' | 'wrk';

async function runUndici(spec: LoadSpec): Promise<LoadResult> {
  const perTarget = Math.ceil(spec.concurrency / spec.targets.length);
  const pools = spec.targets.map((origin) => new Pool(origin, { connections: perTarget, pipelining: 1, keepAliveTimeout: 30_000 }));
  const headers = { 'content-type': 'application/json' };
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let sequence = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  try {
    await Promise.all(Array.from({ length: spec.concurrency }, async (_, client) => {
      const pool = pools[client % pools.length];
      while (performance.now() < deadline) {
        const next = spec.requests[sequence++ % spec.requests.length];
        const sent = performance.now();
        let key: string;
        try {
          const res = await pool.request({ method: next.method, path: next.path, headers, body: next.body,
            headersTimeout: 10_000, bodyTimeout: 10_000 });
          await res.body.dump();
          if (res.statusCode === spec.okStatus) {
            latencies.push(performance.now() - sent);
            continue;
          }
          key = String(res.statusCode);
        } catch (error) {
          key = (error as { code?: string }).code ?? 'error';
        }
        failures[key] = (failures[key] ?? 0) + 1;
      }
    }));
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    ok: latencies.length,
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    per_second: round(latencies.length / elapsed),
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    failures,
    concurrency: spec.concurrency,
    generator_cpu_seconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** Cores the generator itself used over a run of `seconds`. */
export function generatorCores(run: LoadResult, seconds: number): number {
  return round(run.generator_cpu_seconds / seconds, 2);
}

export function runLoad(spec: LoadSpec, generator: Generator): Promise<LoadResult> {
  return generator === 'wrk' ? runWrk(spec) : runUndici(spec);
}
