// ReadLease: how long a leader may answer lease reads after a confirmed round, and when it may not.
import { describe, expect, it } from 'vitest';
import { LEASE_DRIFT, LEASE_TIMER_MARGIN_MS, ReadLease } from '../../../raft/driver/read-lease.js';

/** Both clocks in step: the wall clock `offset` ahead of the monotonic one. */
const offset = 1_700_000_000_000;

describe('ReadLease', () => {
  it('runs from the confirmed round\'s start for electionTicksMin − 1 ticks, less the drift and the timer margin', () => {
    const lease = ReadLease.forTicks(10, 15);
    const duration = 14 * 10 * (1 - LEASE_DRIFT) - LEASE_TIMER_MARGIN_MS;
    expect(lease.remainingMs(2, 0, offset)).toBe(0); // nothing confirmed yet
    lease.confirmed(2, 1_000, 1_005, offset + 1_005); // answered 5 ms after it started
    expect(lease.remainingMs(2, 1_005, offset + 1_005)).toBeCloseTo(duration - 5);
    expect(lease.remainingMs(2, 1_000 + duration - 1, offset + 1_000 + duration - 1)).toBeCloseTo(1);
    expect(lease.remainingMs(2, 1_000 + duration, offset + 1_000 + duration)).toBe(0);
    expect(lease.remainingMs(3, 1_001, offset + 1_001)).toBe(0); // another term
  });

  it('counts the larger of the two clocks\' elapsed time: a suspend (monotonic clock stopped) ends it, a wall clock set back does not extend it', () => {
    const lease = new ReadLease(100);
    lease.confirmed(1, 0, 0, offset);
    expect(lease.remainingMs(1, 10, offset + 500)).toBe(0); // the machine slept 490 ms
    expect(lease.remainingMs(1, 10, offset - 60_000)).toBe(90); // wall clock set back a minute
    expect(lease.remainingMs(1, 150, offset - 60_000)).toBe(0);
  });

  it('a later round extends it, an older answer does not shorten it, a new term starts over', () => {
    const lease = new ReadLease(100);
    lease.confirmed(1, 50, 60, offset + 60);
    lease.confirmed(1, 10, 61, offset + 61); // answered late: its round started earlier
    expect(lease.remainingMs(1, 100, offset + 100)).toBe(50);
    lease.confirmed(1, 120, 125, offset + 125);
    expect(lease.remainingMs(1, 150, offset + 150)).toBe(70);
    lease.confirmed(2, 130, 135, offset + 135);
    expect(lease.remainingMs(1, 150, offset + 150)).toBe(0);
    expect(lease.remainingMs(2, 150, offset + 150)).toBe(80);
  });

  it('is gone for the rest of a term in which the leader sent TimeoutNow', () => {
    const lease = new ReadLease(100);
    lease.confirmed(4, 0, 0, offset);
    lease.bar(4);
    expect(lease.remainingMs(4, 1, offset + 1)).toBe(0);
    lease.confirmed(4, 10, 10, offset + 10);
    expect(lease.remainingMs(4, 11, offset + 11)).toBe(0);
    lease.confirmed(5, 20, 20, offset + 20); // led again in a later term
    expect(lease.remainingMs(5, 21, offset + 21)).toBe(99);
  });

  it('no lease when voters wait a single tick, or when the wait is within the timer margin', () => {
    const single = ReadLease.forTicks(10, 1);
    single.confirmed(1, 0, 0, offset);
    expect(single.remainingMs(1, 0, offset)).toBe(0);
    const tiny = ReadLease.forTicks(1, 3); // 2 ticks of 1 ms less drift: under the margin
    tiny.confirmed(1, 0, 0, offset);
    expect(tiny.remainingMs(1, 0, offset)).toBe(0);
  });
});
