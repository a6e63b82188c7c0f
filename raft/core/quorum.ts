// Majority arithmetic over voters (leaf module: imports nothing from the core).

/** Highest index replicated on a majority of `matches` (one entry per voter). */
export function majorityIndex(matches: readonly number[]): number {
  if (matches.length === 0) return 0;
  const sorted = [...matches].sort((a, b) => b - a);
  return sorted[Math.floor(sorted.length / 2)];
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tally granted/rejected votes among `voters`. */
export function tallyVotes(voters: readonly string[], votes: ReadonlyMap<string, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const quorum = Math.floor(voters.length / 2) + 1;
  if (granted >= quorum) return 'won';
  if (rejected > voters.length - quorum) return 'lost';
  return 'pending';
}

/** True when `acks` holds a majority of `voters`. */
export function hasQuorum(voters: readonly string[], acks: ReadonlySet<string>): boolean {
  let n = 0;
  for (const id of voters) if (acks.has(id)) n++;
  return n >= Math.floor(voters.length / 2) + 1;
}
