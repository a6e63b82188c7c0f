// ReadPath against a stand-in core: which reads take a ReadIndex round and which are
// answered from the leader's read lease, and what starts or ends that lease.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RefusalReason } from '../../../raft/core/index.js';
import { LEASE_MARK, ReadPath } from '../../../raft/driver/read-path.js';
import { RaftError } from '../../../raft/node-api.js';

const TICK_MS = 10;
const TICKS_MIN = 15; // a lease of 14 × 10 × 0.9 − 2 = 124 ms

function setup() {
  const core = { role: 'leader', term: 2, commit: 7, rounds: [] as string[] };
  let applied = 7;
  let leaseReads = 0;
  const path = new ReadPath({
    id: 'n1',
    core: { status: () => ({ role: core.role as 'leader', term: core.term, commit: core.commit }), readIndex: (context) => { core.rounds.push(context); return { ok: true }; } },
    appliedIndex: () => applied,
    schedule: () => undefined,
    refusal: (reason: RefusalReason) => new RaftError('CONCORD_ERR_NO_LEADER', reason),
    roundWaitMs: 150, tickMs: TICK_MS, electionTicksMin: TICKS_MIN,
    onLeaseRead: () => { leaseReads++; },
  });
  /** Answer the newest round at `index`, as the core's read state. */
  const answer = (index: number) => path.granted([{ context: core.rounds.at(-1)!, index }]);
  return { core, path, answer, setApplied: (i: number) => { applied = i; path.applied(i); }, leaseReads: () => leaseReads };
}

describe('ReadPath', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout', 'clearTimeout', 'performance', 'Date'] }); });
  afterEach(() => { vi.useRealTimers(); });

  it('a lease read takes a round until one is confirmed, then is answered at the commit index without one, until the lease runs out', async () => {
    const { core, path, answer, setApplied, leaseReads } = setup();
    const first = path.barrier(5_000, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(1); // no lease yet
    answer(7);
    expect(await first).toBe(7);
    core.commit = 9;
    const second = path.barrier(5_000, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(1);
    expect(leaseReads()).toBe(1);
    let value: number | null = null;
    void second.then((v) => { value = v; });
    await vi.advanceTimersByTimeAsync(0);
    expect(value).toBeNull(); // commit 9 is not applied yet
    setApplied(9);
    await vi.advanceTimersByTimeAsync(0);
    expect(value).toBe(9);
    await vi.advanceTimersByTimeAsync(123);
    void path.barrier(5_000, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(leaseReads()).toBe(2); // 123 ms after the round started: still leased...
    expect(core.rounds).toHaveLength(2); // ...with under half left, so a renewal round starts
    await vi.advanceTimersByTimeAsync(1);
    void path.barrier(5_000, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(leaseReads()).toBe(2); // 124 ms: over, and the renewal is unanswered: this read waits for a round
  });

  it('while lease reads come, the leader renews its lease before it runs out, also for followers\' reads alone', async () => {
    const { core, path, answer, leaseReads } = setup();
    void path.barrier(5_000, false);
    await vi.advanceTimersByTimeAsync(0);
    answer(7); // leased until 124 ms
    await vi.advanceTimersByTimeAsync(61);
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:0`, 2)).toBe(7);
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(1); // more than half left: no renewal
    await vi.advanceTimersByTimeAsync(2);
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:1`, 2)).toBe(7);
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(2); // renewal started at 63 ms
    answer(7);
    await vi.advanceTimersByTimeAsync(100); // 163 ms: the first lease is over, the renewed one runs to 187 ms
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:2`, 2)).toBe(7);
    expect(leaseReads()).toBe(3);
  });

  it('a linearizable read always takes a round, lease or not', async () => {
    const { core, path, answer } = setup();
    void path.barrier(5_000, true);
    await vi.advanceTimersByTimeAsync(0);
    answer(7);
    void path.barrier(5_000, false);
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(2);
  });

  it('no lease from a round answered to a follower, in another term, or in a term the leader sent TimeoutNow', async () => {
    /** A lease read whose round is answered between `before` and `after`, then a second lease read: the rounds taken. */
    const roundsFor = async (before: (s: ReturnType<typeof setup>) => void, after: (s: ReturnType<typeof setup>) => void) => {
      const s = setup();
      void s.path.barrier(5_000, true);
      await vi.advanceTimersByTimeAsync(0);
      before(s);
      s.answer(7);
      after(s);
      void s.path.barrier(5_000, true);
      await vi.advanceTimersByTimeAsync(0);
      return { rounds: s.core.rounds.length, leaseReads: s.leaseReads() };
    };
    expect(await roundsFor((s) => { s.core.role = 'follower'; }, (s) => { s.core.role = 'leader'; })).toEqual({ rounds: 2, leaseReads: 0 });
    expect(await roundsFor((s) => { s.core.term = 3; }, () => undefined)).toEqual({ rounds: 2, leaseReads: 0 }); // started in term 2
    expect(await roundsFor(() => undefined, (s) => s.path.sentTimeoutNow(2))).toEqual({ rounds: 2, leaseReads: 0 });
    expect(await roundsFor(() => undefined, () => undefined)).toEqual({ rounds: 1, leaseReads: 1 }); // the control
  });

  it('a follower\'s lease reads share rounds of their own, marked for the leader, and resolve when answered', async () => {
    const { core, path, setApplied } = setup();
    core.role = 'follower';
    const lease = path.barrier(5_000, true);
    const linearizable = path.barrier(5_000, false);
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(2);
    const [marked, plain] = [core.rounds.find((c) => c.startsWith(LEASE_MARK))!, core.rounds.find((c) => !c.startsWith(LEASE_MARK))!];
    expect(marked).toBeDefined();
    expect(plain.startsWith('n1:')).toBe(true);
    path.granted([{ context: marked, index: 8 }, { context: plain, index: 9 }]);
    setApplied(9);
    expect(await lease).toBe(8);
    expect(await linearizable).toBe(9);
  });

  it('a leader answers a follower\'s lease-read round from its lease, and only that, only while leased, only in its term', async () => {
    const { core, path, answer, leaseReads } = setup();
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:0`, 2)).toBeNull(); // no lease yet (a renewal round starts)
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(1);
    answer(7); // a confirmed round: leased from now
    core.commit = 11;
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:0`, 2)).toBe(11);
    expect(leaseReads()).toBe(1);
    expect(path.answerFromLease('n2:x:0', 2)).toBeNull(); // a linearizable round goes to the core
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:1`, 1)).toBeNull(); // sent in an older term
    await vi.advanceTimersByTimeAsync(124);
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:2`, 2)).toBeNull(); // the lease ran out
    core.role = 'follower';
    expect(path.answerFromLease(`${LEASE_MARK}n2:x:3`, 2)).toBeNull();
  });

  it('halted, it starts no round and refuses new reads; failAll fails those waiting', async () => {
    const { core, path } = setup();
    const pending = path.barrier(5_000, false).catch((error: RaftError) => error.code);
    path.halt();
    await vi.advanceTimersByTimeAsync(0);
    expect(core.rounds).toHaveLength(0);
    await expect(path.barrier(5_000, true)).rejects.toMatchObject({ code: 'CONCORD_ERR_STOPPED' });
    path.failAll(new RaftError('CONCORD_ERR_STOPPED', 'node stopped'));
    expect(await pending).toBe('CONCORD_ERR_STOPPED');
  });
});
