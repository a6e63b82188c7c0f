// ReadLease: how long a leader may answer lease reads after a confirmed round, and when it may not.
import { describe, expect, it } from 'vitest';
import { LEASE_DRIFT, ReadLease } from '../../../raft/driver/read-lease.js';

describe('ReadLease', () => {
  it('runs from the confirmed round\'s start for electionTicksMin − 1 ticks less the drift', () => {
    const lease = ReadLease.forTicks(10, 15);
    const duration = 14 * 10 * (1 - LEASE_DRIFT);
    expect(lease.remainingMs(2, 0)).toBe(0); // nothing confirmed yet
    lease.confirmed(2, 1_000);
    expect(lease.remainingMs(2, 1_000)).toBeCloseTo(duration);
    expect(lease.remainingMs(2, 1_000 + duration - 1)).toBeCloseTo(1);
    expect(lease.remainingMs(2, 1_000 + duration)).toBe(0);
    expect(lease.remainingMs(3, 1_001)).toBe(0); // another term
  });

  it('a later round extends it, an older answer does not shorten it, a new term starts over', () => {
    const lease = new ReadLease(100);
    lease.confirmed(1, 50);
    lease.confirmed(1, 10); // answered late: its round started earlier
    expect(lease.remainingMs(1, 100)).toBe(50);
    lease.confirmed(1, 120);
    expect(lease.remainingMs(1, 150)).toBe(70);
    lease.confirmed(2, 130);
    expect(lease.remainingMs(1, 150)).toBe(0);
    expect(lease.remainingMs(2, 150)).toBe(80);
  });

  it('is gone for the rest of a term in which the leader sent TimeoutNow', () => {
    const lease = new ReadLease(100);
    lease.confirmed(4, 0);
    lease.bar(4);
    expect(lease.remainingMs(4, 1)).toBe(0);
    lease.confirmed(4, 10);
    expect(lease.remainingMs(4, 11)).toBe(0);
    lease.confirmed(5, 20); // led again in a later term
    expect(lease.remainingMs(5, 21)).toBe(99);
  });

  it('no lease when voters wait a single tick', () => {
    const lease = ReadLease.forTicks(10, 1);
    lease.confirmed(1, 0);
    expect(lease.remainingMs(1, 0)).toBe(0);
  });
});
