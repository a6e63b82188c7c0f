import { describe, expect, it } from 'vitest';
import { Inflights } from '../../../raft/core/inflights.js';
import { Progress } from '../../../raft/core/progress.js';

describe('inflight window', () => {
  it('fills to capacity, refuses more, frees by acknowledged index', () => {
    const window = new Inflights(3);
    window.add(5);
    window.add(7);
    window.add(9);
    expect(window.full()).toBe(true);
    expect(() => window.add(11)).toThrow(RangeError);
    window.freeLE(7);
    expect(window.count).toBe(1);
    window.freeLE(6); // stale ack frees nothing
    expect(window.count).toBe(1);
    window.freeFirst();
    expect(window.count).toBe(0);
  });

  it('progress pauses by state: probe after one send, replicate on a full window, snapshot always', () => {
    const progress = new Progress(10, 2, false);
    expect(progress.isPaused()).toBe(false);
    progress.probeSent = true;
    expect(progress.isPaused()).toBe(true);
    expect(progress.maybeUpdate(9)).toBe(true);
    progress.becomeReplicate();
    expect(progress.next).toBe(10);
    progress.inflights.add(10);
    progress.inflights.add(11);
    expect(progress.isPaused()).toBe(true);
    progress.becomeSnapshot(50);
    expect(progress.isPaused()).toBe(true);
    progress.becomeProbe();
    expect(progress.next).toBe(51); // resumes after the snapshot it was sent
  });

  it('a stale rejection does not move next', () => {
    const progress = new Progress(10, 2, false);
    expect(progress.maybeDecrTo(5, 3)).toBe(false); // next-1 is 9, not 5
    expect(progress.maybeDecrTo(9, 3)).toBe(true);
    expect(progress.next).toBe(4);
  });
});
