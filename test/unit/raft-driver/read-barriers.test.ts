// ReadBarriers: how linearizable reads share ReadIndex rounds and when they are released.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReadBarriers } from '../../../raft/driver/reads.js';
import { RaftError } from '../../../raft/node-api.js';

const WAIT_MS = 150;

/** A read's outcome, observed without awaiting it. */
function track(read: Promise<number>): { value?: number; error?: unknown } {
  const seen: { value?: number; error?: unknown } = {};
  read.then((value) => { seen.value = value; }, (error: unknown) => { seen.error = error; });
  return seen;
}

describe('ReadBarriers', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('reads queued before a round share it, and are released once its index is applied', async () => {
    const reads = new ReadBarriers('n1', 1);
    const a = track(reads.enqueue(5_000));
    const b = track(reads.enqueue(5_000));
    const context = reads.startRound(0, WAIT_MS, 1);
    expect(context).not.toBeNull();
    expect(reads.startRound(0, WAIT_MS, 1)).toBeNull(); // nothing queued
    reads.granted(context!, 7, 6);
    await vi.advanceTimersByTimeAsync(0);
    expect(a).toEqual({});
    reads.applied(7);
    await vi.advanceTimersByTimeAsync(0);
    expect(a).toEqual({ value: 7 });
    expect(b).toEqual({ value: 7 });
    expect(reads.pending).toBe(0);
  });

  it('while a round is unanswered, later reads wait for the next one, started once it is answered', async () => {
    const reads = new ReadBarriers('n1', 1);
    const first = track(reads.enqueue(5_000));
    const round1 = reads.startRound(0, WAIT_MS, 1)!;
    const second = track(reads.enqueue(5_000));
    expect(reads.startRound(10, WAIT_MS, 1)).toBeNull();
    expect(reads.pending).toBe(2);
    reads.granted(round1, 3, 3);
    const round2 = reads.startRound(20, WAIT_MS, 1);
    expect(round2).not.toBeNull();
    expect(round2).not.toBe(round1);
    reads.granted(round2!, 4, 4);
    await vi.advanceTimersByTimeAsync(0);
    expect(first).toEqual({ value: 3 });
    expect(second).toEqual({ value: 4 });
  });

  it('a round unanswered for waitMs no longer holds the queue back; heldMs says when that is', () => {
    const reads = new ReadBarriers('n1', 1);
    void reads.enqueue(5_000).catch(() => undefined);
    expect(reads.heldMs(0, WAIT_MS)).toBe(0);
    expect(reads.startRound(0, WAIT_MS, 1)).not.toBeNull();
    void reads.enqueue(5_000).catch(() => undefined);
    expect(reads.queued).toBe(1);
    expect(reads.heldMs(100, WAIT_MS)).toBe(WAIT_MS - 100);
    expect(reads.startRound(WAIT_MS - 1, WAIT_MS, 1)).toBeNull();
    expect(reads.heldMs(WAIT_MS, WAIT_MS)).toBe(0);
    expect(reads.startRound(WAIT_MS, WAIT_MS, 1)).not.toBeNull();
    expect(reads.queued).toBe(0);
  });

  it('a granted round whose index is not applied yet does not hold the queue back', () => {
    const reads = new ReadBarriers('n1', 1);
    void reads.enqueue(5_000);
    const round = reads.startRound(0, WAIT_MS, 1)!;
    reads.granted(round, 9, 5);
    void reads.enqueue(5_000);
    expect(reads.startRound(1, WAIT_MS, 1)).not.toBeNull();
  });

  it('a refused round fails its reads and frees the way for the next', async () => {
    const reads = new ReadBarriers('n1', 1);
    const a = track(reads.enqueue(5_000));
    const round = reads.startRound(0, WAIT_MS, 1)!;
    reads.refuse(round, new RaftError('CONCORD_ERR_NOT_LEADER', 'not the leader'));
    await vi.advanceTimersByTimeAsync(0);
    expect((a.error as RaftError).code).toBe('CONCORD_ERR_NOT_LEADER');
    void reads.enqueue(5_000).catch(() => undefined);
    expect(reads.startRound(1, WAIT_MS, 1)).not.toBeNull();
  });

  it('a read that times out leaves its round; an emptied round no longer holds the queue back', async () => {
    const reads = new ReadBarriers('n1', 1);
    const a = track(reads.enqueue(100));
    expect(reads.startRound(0, 10_000, 1)).not.toBeNull();
    await vi.advanceTimersByTimeAsync(100);
    expect((a.error as RaftError).code).toBe('CONCORD_ERR_NO_LEADER');
    expect(reads.pending).toBe(0);
    void reads.enqueue(5_000).catch(() => undefined);
    expect(reads.startRound(1, 10_000, 1)).not.toBeNull();
  });

  it('failAll rejects queued reads and reads in rounds', async () => {
    const reads = new ReadBarriers('n1', 1);
    const inRound = track(reads.enqueue(5_000));
    reads.startRound(0, WAIT_MS, 1);
    const queued = track(reads.enqueue(5_000));
    reads.failAll(new RaftError('CONCORD_ERR_NO_LEADER', 'leader changed'));
    await vi.advanceTimersByTimeAsync(0);
    expect((inRound.error as RaftError).code).toBe('CONCORD_ERR_NO_LEADER');
    expect((queued.error as RaftError).code).toBe('CONCORD_ERR_NO_LEADER');
    expect(reads.pending).toBe(0);
  });
  it('tells when and in which term an answered round was started, once', () => {
    const reads = new ReadBarriers('n1', 1);
    track(reads.enqueue(5_000));
    const context = reads.startRound(42, WAIT_MS, 3)!;
    expect(reads.granted(context, 5, 0)).toEqual({ startedAt: 42, term: 3 });
    expect(reads.granted(context, 6, 0)).toBeNull(); // answered already
    expect(reads.granted('someone-else:0', 6, 0)).toBeNull();
  });

  it('a read at a known index (a lease read) resolves at once if applied, else once applied reaches it', async () => {
    const reads = new ReadBarriers('n1', 1);
    expect(await reads.at(4, 4, 5_000)).toBe(4);
    const later = track(reads.at(9, 4, 5_000));
    expect(reads.startRound(0, WAIT_MS, 1)).toBeNull(); // it holds back no round: nothing is queued
    reads.applied(8);
    await vi.advanceTimersByTimeAsync(0);
    expect(later).toEqual({});
    reads.applied(9);
    await vi.advanceTimersByTimeAsync(0);
    expect(later).toEqual({ value: 9 });
    const stuck = track(reads.at(20, 9, 1_000));
    await vi.advanceTimersByTimeAsync(1_000);
    expect((stuck.error as RaftError).code).toBe('CONCORD_ERR_NO_LEADER');
    expect(reads.pending).toBe(0);
  });
});
