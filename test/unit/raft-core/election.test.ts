import { describe, expect, it } from 'vitest';
import { RawNode, type Message, type VoteMessage } from '../../../raft/core/index.js';
import { EMPTY_HARD_STATE, Net, entriesOf, testConfig } from './network.js';

const bootstrap = { voters: ['n1', 'n2', 'n3'], learners: [] };

function vote(fields: Partial<VoteMessage> & Pick<VoteMessage, 'from' | 'to' | 'term'>): Message {
  return { type: 'vote', lastIndex: 0, lastTerm: 0, transfer: false, ...fields };
}

describe('elections', () => {
  it('a campaign with PreVote wins term 1 and the no-op commits everywhere', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    for (const id of ['n1', 'n2', 'n3']) {
      const status = net.node(id).status();
      expect(status.term).toBe(1);
      expect(status.leader).toBe('n1');
      expect(status.commit).toBe(1);
      expect(net.applied.get(id)?.map((e) => [e.index, e.term, e.data.length])).toEqual([[1, 1, 0]]);
    }
  });

  it('election timeout is drawn from [electionTicksMin, electionTicksMax]', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const node = new RawNode(testConfig('n1', {}, seed), {
        hardState: EMPTY_HARD_STATE, snapshot: null, entries: [], applied: 0, bootstrapConfState: bootstrap,
      });
      let ticks = 0;
      while (node.status().role === 'follower' && ticks < 100) { node.tick(); ticks++; }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThanOrEqual(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3); // actually randomized
  });

  it('PreVote: an isolated node never bumps its term and cannot disrupt on return', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.isolate('n3');
    net.tickAll(100);
    expect(net.node('n3').status().term).toBe(1);
    net.heal();
    net.tickAll(5);
    expect(net.node('n1').status()).toMatchObject({ role: 'leader', term: 1 });
    expect(net.node('n3').status()).toMatchObject({ role: 'follower', leader: 'n1', term: 1 });
  });

  it('a pre-candidate forgets its leader (etcd#8334)', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.node('n2').campaign();
    expect(net.node('n2').status()).toMatchObject({ role: 'preCandidate', leader: null, term: 1 });
  });

  it('leader lease: a voter that heard from its leader ignores votes unless transfer is set', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    const n2 = net.node('n2');
    n2.step(vote({ from: 'n3', to: 'n2', term: 5, lastIndex: 9, lastTerm: 1 }));
    expect(n2.status().term).toBe(1);
    expect(n2.ready().messages.filter((m) => m.type === 'voteResponse')).toEqual([]);
    n2.advance();
    n2.step(vote({ from: 'n3', to: 'n2', term: 5, lastIndex: 9, lastTerm: 1, transfer: true }));
    expect(n2.status()).toMatchObject({ term: 5, vote: 'n3' });
    expect(n2.ready().messages).toContainEqual({ type: 'voteResponse', from: 'n2', to: 'n3', term: 5, reject: false });
  });

  it('a voter restarted with a term ignores candidates for electionTicksMin ticks, as if it had just heard from a leader', () => {
    // It may have answered a leader whose read lease still runs before it stopped.
    const restarted = new Net({ voters: ['n1', 'n2', 'n3'], initial: { n2: { hardState: { term: 3, vote: null, commit: 0 } } } });
    const n2 = restarted.node('n2');
    const ask = () => {
      n2.step(vote({ from: 'n3', to: 'n2', term: 4, lastIndex: 9, lastTerm: 3 }));
      const granted = n2.ready().messages.some((m) => m.type === 'voteResponse' && !m.reject);
      n2.advance();
      return granted;
    };
    for (let tick = 1; tick < 10; tick++) { // electionTicksMin is 10 here
      expect(ask()).toBe(false);
      n2.tick();
    }
    expect(n2.status().term).toBe(3);
    n2.tick();
    expect(ask()).toBe(true);
    expect(n2.status()).toMatchObject({ term: 4, vote: 'n3' });
    // A fresh node (term 0) has answered nobody: it votes at once.
    const fresh = new Net({ voters: ['n1', 'n2', 'n3'] }).node('n2');
    fresh.step(vote({ from: 'n3', to: 'n2', term: 1, lastIndex: 0, lastTerm: 0 }));
    expect(fresh.ready().messages).toContainEqual({ type: 'voteResponse', from: 'n2', to: 'n3', term: 1, reject: false });
  });

  it('a stray higher-term answer moves the term but not the lease: no vote until electionTicksMin ticks after the leader', () => {
    // A leader's read lease relies on this (review of the lease reads: an old pre-vote's
    // rejection arriving late bumped the term, cleared the leader, and the vote followed).
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    const n2 = net.node('n2');
    const term = n2.status().term;
    n2.step({ type: 'preVoteResponse', from: 'n3', to: 'n2', term: term + 1, reject: true });
    expect(n2.status()).toMatchObject({ term: term + 1, leader: null });
    const ask = (message: Message) => {
      n2.step(message);
      const granted = n2.ready().messages.some((m) => (m.type === 'voteResponse' || m.type === 'preVoteResponse') && !m.reject);
      n2.advance();
      return granted;
    };
    for (let tick = 1; tick < 10; tick++) { // electionTicksMin is 10 here; n1 is heard no more
      expect(ask(vote({ from: 'n3', to: 'n2', term: term + 1, lastIndex: 9, lastTerm: term }))).toBe(false); // same term
      expect(ask({ type: 'preVote', from: 'n3', to: 'n2', term: term + 2, lastIndex: 9, lastTerm: term, transfer: false })).toBe(false);
      n2.tick();
    }
    n2.tick();
    expect(ask(vote({ from: 'n3', to: 'n2', term: term + 1, lastIndex: 9, lastTerm: term }))).toBe(true);
    // A transfer's vote is granted at once, lease or not.
    const other = new Net({ voters: ['n1', 'n2', 'n3'] });
    other.elect('n1');
    other.node('n2').step({ type: 'preVoteResponse', from: 'n3', to: 'n2', term: 2, reject: true });
    other.node('n2').step(vote({ from: 'n3', to: 'n2', term: 2, lastIndex: 9, lastTerm: 1, transfer: true }));
    expect(other.node('n2').ready().messages).toContainEqual({ type: 'voteResponse', from: 'n2', to: 'n3', term: 2, reject: false });
  });

  it('a won pre-vote does not let the real vote override leases', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.isolate('n1');
    net.tickAll(25); // followers' leases expire, one of them campaigns
    const votes = net.sentOf('vote') as VoteMessage[];
    expect(votes.length).toBeGreaterThan(0);
    expect(votes.every((m) => !m.transfer)).toBe(true);
  });

  it('grants a vote only to an up-to-date candidate, at most once per term, and persists it', () => {
    // Restarted with a term, it would otherwise ignore candidates for its first ticks (restartQuiet).
    const node = new RawNode(testConfig('n1', { preVote: false, restartQuiet: false }), {
      hardState: { term: 2, vote: null, commit: 0 }, snapshot: null, entries: entriesOf(1, 3, 2),
      applied: 0, bootstrapConfState: bootstrap,
    });
    node.step(vote({ from: 'n2', to: 'n1', term: 3, lastIndex: 2, lastTerm: 2 }));
    node.step(vote({ from: 'n2', to: 'n1', term: 4, lastIndex: 9, lastTerm: 1 }));
    node.step(vote({ from: 'n2', to: 'n1', term: 5, lastIndex: 3, lastTerm: 2 }));
    node.step(vote({ from: 'n3', to: 'n1', term: 5, lastIndex: 3, lastTerm: 2 }));
    const ready = node.ready();
    expect(ready.hardState).toEqual({ term: 5, vote: 'n2', commit: 0 });
    const answers = ready.messages.map((m) => [m.to, m.term, 'reject' in m && m.reject]);
    expect(answers).toEqual([['n2', 3, true], ['n2', 4, true], ['n2', 5, false], ['n3', 5, true]]);
  });

  it('a candidate votes for itself in a new term', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'], config: { preVote: false } });
    net.node('n1').campaign();
    expect(net.node('n1').status()).toMatchObject({ role: 'candidate', term: 1, vote: 'n1' });
    expect(net.node('n1').ready().hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
  });

  it('a lower-term append is answered so a stale leader learns the newer term', () => {
    // Without CheckQuorum the old leader never steps down on its own; PreVote alone keeps the answer on.
    const net = new Net({ voters: ['n1', 'n2', 'n3'], config: { checkQuorum: false } });
    net.elect('n1');
    net.isolate('n1');
    net.elect('n2');
    expect(net.node('n2').status().term).toBe(2);
    expect(net.node('n1').status()).toMatchObject({ role: 'leader', term: 1 });
    net.heal();
    net.tick('n1'); // stale heartbeat at term 1
    net.stabilize();
    expect(net.node('n1').status()).toMatchObject({ role: 'follower', term: 2, leader: null });
    net.tick('n2'); // the new leader's next heartbeat names it
    net.stabilize();
    expect(net.node('n1').status()).toMatchObject({ role: 'follower', term: 2, leader: 'n2' });
  });

  it('a node that cannot campaign still lets its leader lease run out (simulator seed 372650869)', () => {
    // n3 is a voter of the real configuration but still on one where it is a learner,
    // so it never campaigns. Its last leader went silent; after an election timeout
    // it must answer the remaining voter's pre-vote, or that voter never wins.
    for (const seed of [1, 2, 3, 4, 5]) {
      const node = new RawNode(testConfig('n3', {}, seed), {
        hardState: EMPTY_HARD_STATE, snapshot: null, entries: [], applied: 0,
        bootstrapConfState: { voters: ['n1', 'n2'], learners: ['n3'] },
      });
      node.step({ type: 'heartbeat', from: 'n1', to: 'n3', term: 1, commit: 0, context: null });
      node.ready();
      node.advance();
      node.step({ type: 'preVote', from: 'n2', to: 'n3', term: 2, lastIndex: 0, lastTerm: 0, transfer: false });
      expect(node.hasReady() && node.ready().messages.length, 'in lease: ignored').toBeFalsy();
      for (let i = 0; i < 100; i++) node.tick();
      node.step({ type: 'preVote', from: 'n2', to: 'n3', term: 2, lastIndex: 0, lastTerm: 0, transfer: false });
      const answers = node.ready().messages.map((m) => [m.type, m.to, m.term, 'reject' in m && m.reject]);
      expect(answers).toEqual([['preVoteResponse', 'n2', 2, false]]);
    }
  });

  it('a learner or removed node never campaigns', () => {
    const net = new Net({ voters: ['n1'], learners: ['n2'] });
    net.tick('n2', 200);
    expect(net.node('n2').status().role).toBe('follower');
    expect(net.node('n2').hasReady()).toBe(false);
  });
});
