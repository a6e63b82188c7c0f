// Structural checks of a peer message before the core trusts it (validate at the
// edge, then assert inside). A malformed message is dropped, never half-applied:
// the transport's codec should already refuse most of this, but the core must not
// crash on a buggy or hostile peer. Leaf module.

import type { Entry, Message } from './types.js';

const isIndex = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Why `message` is malformed, or null when it is well formed. */
export function messageProblem(message: Message): string | null {
  if (!isIndex(message.term)) return 'term must be a non-negative integer';
  if (typeof message.from !== 'string' || typeof message.to !== 'string') return 'from/to must be strings';
  switch (message.type) {
    case 'append':
      if (!isIndex(message.prevIndex) || !isIndex(message.prevTerm) || !isIndex(message.commit)) return 'bad append indexes';
      return entriesProblem(message.prevIndex, message.prevTerm, message.term, message.entries);
    case 'appendResponse':
      return isIndex(message.index) && isIndex(message.hintIndex) && isIndex(message.hintTerm) ? null : 'bad response indexes';
    case 'heartbeat':
      return isIndex(message.commit) ? null : 'bad heartbeat commit';
    case 'vote':
    case 'preVote':
      return isIndex(message.lastIndex) && isIndex(message.lastTerm) ? null : 'bad vote log position';
    case 'snapshot': {
      const meta = message.snapshot;
      if (!isIndex(meta.index) || !isIndex(meta.term) || meta.term > message.term) return 'bad snapshot meta';
      return Array.isArray(meta.confState.voters) && meta.confState.voters.length > 0 ? null : 'snapshot without voters';
    }
    case 'readIndexResponse':
      return isIndex(message.index) ? null : 'bad read index';
    default:
      return null;
  }
}

/** Entries must follow prevIndex contiguously with terms in [prevTerm, message term], never decreasing. */
function entriesProblem(prevIndex: number, prevTerm: number, term: number, entries: readonly Entry[]): string | null {
  if (prevTerm > term) return 'prevTerm above the message term';
  let lastTerm = prevTerm;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (entry.index !== prevIndex + 1 + i) return 'entries are not contiguous after prevIndex';
    if (!isIndex(entry.term) || entry.term < lastTerm || entry.term > term) return 'entry terms out of order';
    if (!(entry.data instanceof Uint8Array)) return 'entry data must be bytes';
    lastTerm = entry.term;
  }
  return null;
}
