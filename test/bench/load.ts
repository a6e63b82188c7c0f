// Closed-loop HTTP load generator: N concurrent clients, each sending its next
// request as soon as the previous one answered, over keep-alive undici pools (one
// per target origin; client i uses target i mod targets). Runs for a fixed time
// and reports throughput and latency percentiles of the successful requests.
import { Pool } from 'undici';
import { percentile, round } from './stats.js';

export interface LoadRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly body?: string;
}

export interface LoadSpec {
  readonly targets: readonly string[];
  readonly concurrency: number;
  readonly seconds: number;
  /** The next request of client `client`; `sequence` counts all requests of the run. */
  readonly next: (client: number, sequence: number) => LoadRequest;
  /** Answers with this status count as successes. */
  readonly okStatus: number;
  /** Called with the parsed body of some successful answers (while it returns true). */
  readonly collect?: (body: unknown) => boolean;
  readonly headers?: Record<string, string>;
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly per_second: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** Failure statuses (or error codes) and how often each happened. */
  readonly failures: Record<string, number>;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const perTarget = Math.ceil(spec.concurrency / spec.targets.length);
  const pools = spec.targets.map((origin) => new Pool(origin, { connections: perTarget, pipelining: 1, keepAliveTimeout: 30_000 }));
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let collecting = spec.collect !== undefined;
  let sequence = 0;
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  try {
    await Promise.all(Array.from({ length: spec.concurrency }, async (_, client) => {
      const pool = pools[client % pools.length];
      while (performance.now() < deadline) {
        const next = spec.next(client, sequence++);
        const sent = performance.now();
        let key: string;
        try {
          const res = await pool.request({ method: next.method, path: next.path, headers, body: next.body,
            headersTimeout: 10_000, bodyTimeout: 10_000 });
          if (res.statusCode === spec.okStatus) {
            if (collecting) collecting = spec.collect!(await res.body.json());
            else await res.body.dump();
            latencies.push(performance.now() - sent);
            continue;
          }
          key = String(res.statusCode);
          await res.body.dump();
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
  return {
    ok: latencies.length,
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    per_second: round(latencies.length / elapsed),
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    failures,
  };
}
