// The server benchmark's target checks: on 3 nodes, linearizable reads and writes at the
// issue's 64 clients against their targets, and the failover median; a case run with
// another client count (the 256-client write case) is reported but not checked.
import { describe, expect, it } from 'vitest';
import { checkTargets, type ClusterResult } from '../../../test/bench/server-report.js';
import type { CaseResult } from '../../../test/bench/server-cases.js';

const result = (name: string, perSecond: number, clients = 64): CaseResult => ({
  case: name, nodes: 3, targets: 'leader', clients, per_second: perSecond, p50_ms: 1, p99_ms: 2, failed: 0, failures: {}, runs: [],
  cores: {}, cpu_ms_per_op: 0.1, wal: null, peers: null,
});

describe('checkTargets', () => {
  it('checks reads and writes at 64 clients and the failover median on 3 nodes, nothing else', () => {
    const three: ClusterResult = {
      nodes: 3, rss_mib: {},
      cases: [result('read_linearizable_leader', 26_000), result('read_stale_all', 1), result('task_submit', 8_000),
        result('task_submit_256_clients', 10_500, 256)],
      failover: { rounds: 10, median_ms: 250, max_ms: 300, samples_ms: [], catch_up_ms: [] },
    };
    const one: ClusterResult = { nodes: 1, rss_mib: {}, cases: [result('task_submit', 1)], failover: null };
    expect(checkTargets([one, three])).toEqual([
      { what: 'read_linearizable_leader /s', measured: 26_000, target: '≥ 25000', ratio: 1.04, met: true },
      { what: 'task_submit /s', measured: 8_000, target: '≥ 10000', ratio: 0.8, met: false },
      { what: 'failover median ms', measured: 250, target: '≤ 500', ratio: 2, met: true },
    ]);
    expect(checkTargets([one])).toEqual([]);
  });
});
