// `concord status --nodes h:p,…`: one table like `etcdctl endpoint status -w table`.
import Table from 'cli-table3';
import { request } from 'undici';
import { type NodeAccess, nodeRequest } from './access.js';

export interface EndpointStatus {
  endpoint: string; reachable: boolean; node_id?: string; role?: string; term?: number; leader?: string | null;
  commit_index?: number; applied_index?: number; lag?: number; healthy?: boolean; latency_ms?: number; error?: string;
}

export function parseEndpoints(values: readonly string[]): string[] {
  const out = values.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v.length > 0);
  for (const endpoint of out) {
    // host:port, or [IPv6 literal]:port as in a URL.
    if (!/^(?:\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+):\d{1,5}$/.test(endpoint)) throw new RangeError(`not host:port or [ipv6]:port: ${endpoint}`);
  }
  return out;
}

/** `access`: how to reach nodes that use TLS (`dispatcher` trusting their CA) or auth (`token`, any role). */
export async function probe(endpoint: string, timeoutMs = 2000, access: NodeAccess = {}): Promise<EndpointStatus> {
  const started = performance.now();
  try {
    const { url, options } = nodeRequest(endpoint, '/api/status', access);
    const res = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...options });
    if (res.statusCode !== 200) {
      const answer = (await res.body.json().catch(() => ({}))) as { error?: { code?: string } };
      return { endpoint, reachable: false, error: `HTTP ${res.statusCode} ${answer.error?.code ?? ''}`.trim() };
    }
    const s = (await res.body.json()) as { node_id: string; role: string; term: number; current_leader: string | null;
      commit_index: number; applied_index: number; storage?: { healthy: boolean } };
    return { endpoint, reachable: true, node_id: s.node_id, role: s.role, term: s.term, leader: s.current_leader,
      commit_index: s.commit_index, applied_index: s.applied_index, lag: s.commit_index - s.applied_index,
      healthy: s.storage?.healthy ?? true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { endpoint, reachable: false, error: (error as Error).message };
  }
}

export function renderTable(rows: readonly EndpointStatus[]): string {
  const table = new Table({ head: ['ENDPOINT', 'ID', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'LAG', 'HEALTH', 'LATENCY'] });
  for (const r of rows) {
    table.push(r.reachable
      ? [r.endpoint, r.node_id, r.role, r.term, r.leader ?? '-', r.commit_index, r.applied_index, r.lag, r.healthy ? 'ok' : 'unhealthy', `${r.latency_ms} ms`]
      : [r.endpoint, '-', 'unreachable', '-', '-', '-', '-', '-', r.error ?? 'down', '-'] as (string | number | undefined)[]);
  }
  return table.toString();
}
