// SnapshotPolicy: when a snapshot is due (entries or bytes applied since the last one,
// entries paced by the last one's duration) and how much log it keeps behind (entries,
// bounded by bytes).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnapshotPolicy } from '../../../raft/driver/snapshot-policy.js';

const policy = (over: Partial<ConstructorParameters<typeof SnapshotPolicy>[0]> = {}) =>
  new SnapshotPolicy({ threshold: 100, tailEntries: 10, lastIndex: 0, thresholdBytes: 1_000, tailBytesMax: 300, ...over });

describe('SnapshotPolicy', () => {
  it('is due after threshold entries, or threshold bytes, since the last snapshot', () => {
    const p = policy();
    expect(p.due(99)).toBe(false);
    expect(p.due(100)).toBe(true);
    p.applied(999);
    expect(p.due(5)).toBe(false);
    p.applied(1);
    expect(p.due(5)).toBe(true);
    p.started();
    expect(p.due(500)).toBe(false); // never two at a time
  });

  it('counts bytes from the start of the last snapshot, or from an installed one', () => {
    const p = policy();
    p.applied(2_000);
    p.started();
    p.taken(5);
    p.finished(0, 0); // as the driver does once the snapshot is committed
    expect(p.due(6)).toBe(false);
    p.applied(1_000);
    expect(p.due(6)).toBe(true);
    p.installed(50);
    expect(p.lastIndex).toBe(50);
    expect(p.due(51)).toBe(false);
  });

  it('paces snapshots due by entries to paceFactor times the last one\'s duration; the byte threshold is not paced', () => {
    const p = policy({ paceFactor: 9 });
    p.started();
    p.taken(100);
    p.finished(200, 1_200); // 200 ms of work: the next waits until 1,200 + 9 × 200
    expect(p.inProgress).toBe(false);
    expect(p.due(200, 1_201)).toBe(false);
    expect(p.due(5_000, 2_999)).toBe(false);
    expect(p.due(200, 3_000)).toBe(true);
    p.applied(1_000);
    expect(p.due(150, 1_300)).toBe(true); // 1,000 bytes applied: due whatever the pace
    const unpaced = policy({ paceFactor: 0 });
    unpaced.finished(0, 500);
    expect(unpaced.due(100, 500)).toBe(true);
    const capped = policy({ paceFactor: 9, paceMsMax: 1_000 });
    capped.finished(60_000, 0); // a snapshot slowed by a stuck disk holds the next back 1 s, not 9 min
    expect(capped.due(100, 999)).toBe(false);
    expect(capped.due(100, 1_000)).toBe(true);
    expect(() => policy({ paceFactor: -1 })).toThrow(RangeError);
    expect(() => policy({ paceFactor: Number.NaN })).toThrow(RangeError);
    expect(() => policy({ paceMsMax: -1 })).toThrow(RangeError);
  });

  it('a snapshot that commits nothing leaves the bytes applied before it counted', () => {
    const p = policy();
    p.applied(600);
    p.started();
    p.applied(300);
    p.finished(10, 0); // failed: nothing taken
    expect(p.due(5, 0)).toBe(false); // 900 < 1,000
    p.applied(100);
    expect(p.due(5, 0)).toBe(true);
    p.started();
    p.taken(5);
    p.finished(10, 0); // taken: the count starts again from the start of this one
    expect(p.due(6, 1_000)).toBe(false);
  });

  it('is not due by bytes with nothing applied past the last snapshot', () => {
    const p = policy({ lastIndex: 7 });
    p.applied(5_000);
    expect(p.due(7)).toBe(false);
    expect(p.due(8)).toBe(true);
  });

  it('keeps the newest entries up to tailEntries whose data fits in tailBytesMax', () => {
    const p = policy();
    expect(p.keep([1, 1, 1])).toBe(3);
    expect(p.keep(Array.from({ length: 20 }, () => 1))).toBe(10);
    expect(p.keep([100, 100, 100, 100])).toBe(3);
    expect(p.keep([5, 500])).toBe(0); // the newest alone is too big
    expect(p.keep([])).toBe(0);
  });

  it('keep: a suffix within both bounds that no longer one also fits', () => {
    fc.assert(fc.property(fc.array(fc.nat(200), { maxLength: 40 }), fc.nat(15), fc.nat(600), (sizes, tailEntries, tailBytesMax) => {
      const kept = policy({ tailEntries, tailBytesMax }).keep(sizes);
      const bytes = (n: number) => sizes.slice(sizes.length - n).reduce((a, b) => a + b, 0);
      expect(kept).toBeLessThanOrEqual(Math.min(tailEntries, sizes.length));
      expect(bytes(kept)).toBeLessThanOrEqual(tailBytesMax);
      const longer = kept + 1;
      if (longer <= Math.min(tailEntries, sizes.length)) expect(bytes(longer)).toBeGreaterThan(tailBytesMax);
    }));
  });

  it('refuses bad limits', () => {
    expect(() => policy({ thresholdBytes: 0 })).toThrow(RangeError);
    expect(() => policy({ tailBytesMax: -1 })).toThrow(RangeError);
    expect(() => policy({ threshold: 0 })).toThrow(RangeError);
  });
});
