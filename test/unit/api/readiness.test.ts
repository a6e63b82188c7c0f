// /ready's decision: a member that knows a leader, with a working disk, that has applied
// to within 100 entries of the cluster's commit as its leader announced it.
import { describe, expect, it } from 'vitest';
import { readiness } from '../../../src/api/routes-probes.js';

const status = (fields: Partial<Parameters<typeof readiness>[0]> = {}): Parameters<typeof readiness>[0] => ({
  confState: { voters: ['a', 'b', 'c'], learners: ['d'] }, leader: 'b', storage: { healthy: true, error: null, logBytes: 0 },
  commit: 500, leaderCommit: 500, ...fields,
});

describe('readiness', () => {
  it('is ready when caught up, for a voter and for a learner', () => {
    expect(readiness(status(), 'a', 500)).toEqual({ ready: true, member: true, leader: 'b', commit_index: 500, leader_commit_index: 500, applied_index: 500 });
    expect(readiness(status(), 'd', 400).ready).toBe(true); // 100 behind: the bound itself
  });

  it('is not ready while catching up to what the leader committed, though its own commit is applied', () => {
    // Its log ends at 500, all applied, but the leader announced 10,000.
    expect(readiness(status({ leaderCommit: 10_000 }), 'a', 500)).toMatchObject({ ready: false, commit_index: 500, leader_commit_index: 10_000 });
    expect(readiness(status(), 'a', 399).ready).toBe(false);
  });

  it('is not ready without a leader, with a failing disk, or when not a member', () => {
    expect(readiness(status({ leader: null }), 'a', 500).ready).toBe(false);
    expect(readiness(status({ storage: { healthy: false, error: 'EIO', logBytes: 0 } }), 'a', 500).ready).toBe(false);
    expect(readiness(status(), 'z', 500)).toMatchObject({ ready: false, member: false });
  });
});
