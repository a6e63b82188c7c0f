import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasQuorum, majorityIndex, tallyVotes } from '../../../raft/core/quorum.js';

/** Naive reference: the largest index that at least a majority have reached. */
function naiveMajorityIndex(matches: readonly number[]): number {
  if (matches.length === 0) return 0;
  const need = Math.floor(matches.length / 2) + 1;
  let best = 0;
  for (const candidate of matches) {
    if (matches.filter((m) => m >= candidate).length >= need) best = Math.max(best, candidate);
  }
  return best;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);

describe('quorum arithmetic', () => {
  it('majorityIndex agrees with the naive definition', () => {
    fc.assert(fc.property(fc.array(fc.nat({ max: 50 }), { maxLength: 9 }), (matches) => {
      expect(majorityIndex(matches)).toBe(naiveMajorityIndex(matches));
    }), { numRuns: 500 });
  });

  it('tallyVotes: won iff a majority granted, lost iff a majority can no longer grant', () => {
    const vote = fc.constantFrom<boolean | undefined>(true, false, undefined);
    fc.assert(fc.property(fc.array(vote, { minLength: 1, maxLength: 9 }), (votes) => {
      const voters = ids(votes.length);
      const map = new Map<string, boolean>();
      votes.forEach((v, i) => { if (v !== undefined) map.set(voters[i], v); });
      map.set('stranger', true); // votes from non-voters never count
      const granted = votes.filter((v) => v === true).length;
      const open = votes.filter((v) => v === undefined).length;
      const need = Math.floor(votes.length / 2) + 1;
      const expected = granted >= need ? 'won' : granted + open < need ? 'lost' : 'pending';
      expect(tallyVotes(voters, map)).toBe(expected);
    }), { numRuns: 500 });
  });

  it('hasQuorum counts only voters', () => {
    expect(hasQuorum(['a', 'b', 'c'], new Set(['a', 'b']))).toBe(true);
    expect(hasQuorum(['a', 'b', 'c'], new Set(['a', 'x', 'y']))).toBe(false);
    expect(hasQuorum(['a', 'b', 'c', 'd'], new Set(['a', 'b']))).toBe(false);
    expect(hasQuorum(['a'], new Set(['a']))).toBe(true);
  });
});
