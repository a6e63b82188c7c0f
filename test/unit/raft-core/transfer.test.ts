import { describe, expect, it } from 'vitest';
import type { VoteMessage } from '../../../raft/core/index.js';
import { Net } from './network.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('leadership transfer', () => {
  it('a caught-up target gets timeoutNow and wins the next term at once', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    const mark = net.sent.length;
    expect(net.node('n1').transferLeader('n2')).toEqual({ ok: true });
    net.stabilize();
    const after = net.sent.slice(mark);
    expect(after.filter((m) => m.type === 'timeoutNow' && m.to === 'n2')).toHaveLength(1);
    expect(after.filter((m) => m.type === 'preVote')).toHaveLength(0); // TimeoutNow skips PreVote
    const votes = after.filter((m): m is VoteMessage => m.type === 'vote');
    expect(votes.length).toBeGreaterThan(0);
    expect(votes.every((m) => m.transfer)).toBe(true);
    expect(net.node('n2').status()).toMatchObject({ role: 'leader', term: 2 });
    expect(net.node('n1').status()).toMatchObject({ role: 'follower', leader: 'n2' });
  });

  it('refuses self, non-members and learners as targets', () => {
    const net = new Net({ voters: ['n1', 'n2'], learners: ['n3'] });
    net.elect('n1');
    for (const target of ['n1', 'n3', 'nobody']) {
      expect(net.node('n1').transferLeader(target)).toMatchObject({ ok: false, reason: 'invalidTarget' });
    }
  });

  it('catches a lagging target up first and refuses proposals meanwhile', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.isolate('n2');
    net.propose('n1', 'a');
    net.stabilize();
    expect(net.node('n1').transferLeader('n2')).toEqual({ ok: true });
    expect(net.node('n1').propose(text('b'))).toMatchObject({ ok: false, reason: 'transferring' });
    net.stabilize();
    expect(net.sentOf('timeoutNow')).toHaveLength(0);
    net.heal();
    net.tickAll(1);
    expect(net.node('n2').status().role).toBe('leader');
    expect(net.node('n2').status().lastIndex).toBeGreaterThanOrEqual(2);
  });

  it('aborts after electionTicksMin ticks if the target never catches up', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.isolate('n2');
    net.propose('n1', 'a');
    net.stabilize();
    net.node('n1').transferLeader('n2');
    net.tickAll(9);
    expect(net.node('n1').status().transferee).toBe('n2');
    net.tickAll(1);
    expect(net.node('n1').status()).toMatchObject({ role: 'leader', transferee: null });
    expect(net.node('n1').propose(text('c')).ok).toBe(true);
  });

  it('a follower forwards the request to its leader', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    expect(net.node('n3').transferLeader('n2')).toEqual({ ok: true });
    net.stabilize();
    expect(net.node('n2').status().role).toBe('leader');
  });
});
