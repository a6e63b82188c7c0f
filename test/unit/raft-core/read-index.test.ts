import { describe, expect, it } from 'vitest';
import type { ReadIndexResponseMessage } from '../../../raft/core/index.js';
import { Net } from './network.js';

describe('ReadIndex (thesis §6.4)', () => {
  it('the leader confirms with a heartbeat round, then emits the read state', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    const commit = net.node('n1').status().commit;
    net.cut('n1', 'n2');
    net.cut('n1', 'n3');
    net.node('n1').readIndex('r1');
    net.stabilize();
    expect(net.readStates.get('n1')).toEqual([]); // no majority acknowledged yet
    net.heal();
    net.tick('n1');
    net.stabilize();
    expect(net.readStates.get('n1')).toEqual([{ index: commit, context: 'r1' }]);
  });

  it('waits until the leader has committed an entry of its own term', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.filter = (m) => m.type !== 'append' || m.entries.length === 0;
    net.elect('n1');
    net.node('n1').readIndex('early');
    net.tickAll(2);
    expect(net.readStates.get('n1')).toEqual([]);
    net.filter = null;
    net.tickAll(1);
    const noop = 1;
    expect(net.readStates.get('n1')).toEqual([{ index: noop, context: 'early' }]);
  });

  it('a single voter answers at once', () => {
    const net = new Net({ voters: ['n1'] });
    net.elect('n1');
    net.node('n1').readIndex('solo');
    expect(net.node('n1').ready().readStates).toEqual([{ index: 1, context: 'solo' }]);
  });

  it('with three voters the leader answers a follower at once: its request and the leader are a majority', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.node('n1').propose(new TextEncoder().encode('w'));
    net.stabilize();
    const commit = net.node('n1').status().commit;
    net.cut('n1', 'n3');
    const heartbeatsBefore = net.sentOf('heartbeat').length;
    net.node('n2').readIndex('f');
    net.stabilize();
    expect(net.readStates.get('n2')).toEqual([{ index: commit, context: 'f' }]);
    expect(net.sentOf('heartbeat').length).toBe(heartbeatsBefore); // no round was needed
  });

  /** `reader` asks while the leader n1 hears from no voter in `cut`: no answer until a heartbeat round reaches them. */
  function expectReadWaitsForHeartbeats(net: Net, reader: string, cut: readonly string[]): void {
    net.elect('n1');
    const commit = net.node('n1').status().commit;
    for (const other of cut) net.cut('n1', other);
    net.node(reader).readIndex('r');
    net.stabilize();
    expect(net.readStates.get(reader)).toEqual([]);
    net.heal();
    net.tick('n1');
    net.stabilize();
    expect(net.readStates.get(reader)).toEqual([{ index: commit, context: 'r' }]);
  }

  it('with five voters a follower\'s read still needs one more voter to answer a heartbeat', () => {
    // The leader and n2 are two of five.
    expectReadWaitsForHeartbeats(new Net({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'] }), 'n2', ['n3', 'n4', 'n5']);
  });

  it('a learner\'s request does not count towards the majority', () => {
    // Only the leader, of three voters, confirmed it.
    expectReadWaitsForHeartbeats(new Net({ voters: ['n1', 'n2', 'n3'], learners: ['l1'] }), 'l1', ['n2', 'n3']);
  });

  it('a follower asks the leader and turns the answer into a read state', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    expect(net.node('n2').readIndex('f1')).toEqual({ ok: true });
    net.stabilize();
    expect(net.readStates.get('n2')).toEqual([{ index: 1, context: 'f1' }]);
    expect(new Net({ voters: ['a', 'b'] }).node('b').readIndex('x')).toMatchObject({ ok: false, reason: 'noLeader' });
  });

  it('pending reads do not leak across a leader change (etcd-io/raft PR #397)', () => {
    // Five voters: a follower's request and the leader are not a majority, so its read waits for heartbeats too.
    const net = new Net({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'] });
    net.elect('n1');
    net.filter = (m) => !(m.type === 'heartbeatResponse' && m.to === 'n1'); // reads stay unconfirmed
    net.node('n2').readIndex('lost');
    net.node('n1').readIndex('mine');
    net.stabilize();
    net.filter = null;
    net.node('n1').transferLeader('n2');
    net.stabilize();
    expect(net.node('n2').status().role).toBe('leader');
    net.node('n2').transferLeader('n1'); // n1 leads again, in a later term
    net.stabilize();
    expect(net.node('n1').status()).toMatchObject({ role: 'leader', term: 3 });
    net.tickAll(3); // heartbeat rounds of the new term must not confirm the old reads
    expect(net.readStates.get('n1')).toEqual([]);
    expect(net.readStates.get('n2')).toEqual([]);
    const answers = (net.sentOf('readIndexResponse') as ReadIndexResponseMessage[]).filter((m) => m.context === 'lost');
    expect(answers.map((m) => m.reject)).toEqual([true]); // told at once, not left to time out
  });

});
