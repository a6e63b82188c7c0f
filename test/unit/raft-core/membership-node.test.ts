import { describe, expect, it } from 'vitest';
import { Net } from './network.js';

describe('membership through the log', () => {
  it('a learner replicates but never counts toward commit', () => {
    const net = new Net({ voters: ['n1', 'n2'], learners: ['n3'] });
    net.elect('n1');
    net.isolate('n2');
    const index = net.propose('n1', 'x');
    net.stabilize();
    expect(net.node('n3').status().lastIndex).toBe(index);
    expect(net.node('n1').status().commit).toBeLessThan(index);
    net.heal();
    net.tickAll(1);
    expect(net.node('n1').status().commit).toBe(index);
  });

  it('one change at a time, taking effect when applied', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    const n1 = net.node('n1');
    expect(n1.proposeConfChange({ type: 'addLearner', node: 'n4' }).ok).toBe(true);
    expect(n1.proposeConfChange({ type: 'addLearner', node: 'n5' })).toMatchObject({ ok: false, reason: 'confChangePending' });
    expect(n1.status().confState.learners).toEqual([]);
    net.stabilize();
    expect(n1.status().confState.learners).toEqual(['n4']);
    expect(net.node('n2').status().confState.learners).toEqual(['n4']);
    expect(n1.status().progress.find((p) => p.id === 'n4')?.learner).toBe(true);
    expect(n1.proposeConfChange({ type: 'promote', node: 'n2' })).toMatchObject({ ok: false, reason: 'invalidConfChange' });
    expect(n1.proposeConfChange({ type: 'promote', node: 'n4' }).ok).toBe(true);
    net.stabilize();
    expect(n1.status().confState).toEqual({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [] });
  });

  it('a leader that applies its own removal steps down and stops heartbeating (etcd#11038)', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    expect(net.node('n1').proposeConfChange({ type: 'remove', node: 'n1' }).ok).toBe(true);
    net.stabilize();
    expect(net.node('n1').status()).toMatchObject({ role: 'follower', leader: null });
    expect(net.node('n2').status().confState.voters).toEqual(['n2', 'n3']);
    net.tick('n1', 50);
    expect(net.node('n1').hasReady()).toBe(false); // no heartbeats, no campaign
    net.tickAll(40);
    const leader = ['n2', 'n3'].find((id) => net.node(id).status().role === 'leader');
    expect(leader).toBeDefined();
  });

  it('removing a follower shrinks the quorum', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.node('n1').proposeConfChange({ type: 'remove', node: 'n3' });
    net.stabilize();
    net.isolate('n3');
    const index = net.propose('n1', 'x');
    net.stabilize();
    expect(net.node('n1').status().commit).toBe(index);
    expect(net.node('n1').status().progress.map((p) => p.id)).toEqual(['n2']);
  });
});
