import { describe, expect, it } from 'vitest';
import type { HeartbeatMessage, ReadIndexResponseMessage } from '../../../raft/core/index.js';
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

  /** The followers a heartbeat round for `context` went to. */
  const askedFor = (net: Net, context: string) =>
    (net.sentOf('heartbeat') as HeartbeatMessage[]).filter((m) => m.context === context).map((m) => m.to).sort();

  it('a read round asks only the followers that completed the last one, a majority with the leader', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.node('n1').readIndex('r1');
    net.stabilize();
    expect(askedFor(net, 'r1')).toEqual(['n2', 'n3']); // no round confirmed yet in this term: everyone
    const first = (net.sentOf('heartbeatResponse') as { from: string; context: string | null }[]).find((m) => m.context === 'r1')!.from;
    net.node('n1').readIndex('r2');
    net.stabilize();
    expect(askedFor(net, 'r2')).toEqual([first]);
    expect(net.readStates.get('n1')!.map((r) => r.context)).toEqual(['r1', 'r2']);

    const five = new Net({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'] });
    five.elect('n1');
    five.node('n1').readIndex('a');
    five.stabilize();
    five.node('n1').readIndex('b');
    five.stabilize();
    expect(askedFor(five, 'b')).toHaveLength(2);
    expect(five.readStates.get('n1')!.map((r) => r.context)).toEqual(['a', 'b']);
  });

  /** Three voters after two confirmed leader reads (r1, r2): the follower the second round asked alone. */
  function afterTwoRounds(): { net: Net; asked: string } {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    for (const context of ['r1', 'r2']) {
      net.node('n1').readIndex(context);
      net.stabilize();
    }
    const asked = askedFor(net, 'r2');
    expect(asked).toHaveLength(1);
    return { net, asked: asked[0]! };
  }

  it('when the follower it asked does not answer, the next read asks everyone and confirms both', () => {
    const { net, asked } = afterTwoRounds();
    const other = asked === 'n2' ? 'n3' : 'n2';
    net.cut('n1', asked);
    net.node('n1').readIndex('r3');
    net.stabilize();
    expect(askedFor(net, 'r3')).toEqual([asked]);
    expect(net.readStates.get('n1')!.map((r) => r.context)).toEqual(['r1', 'r2']); // r3 waits
    net.node('n1').readIndex('r4'); // r3 still unconfirmed: this round must not depend on `asked` alone
    net.stabilize();
    expect(askedFor(net, 'r4')).toEqual(['n2', 'n3']);
    expect(net.readStates.get('n1')!.map((r) => r.context)).toEqual(['r1', 'r2', 'r3', 'r4']);
    net.node('n1').readIndex('r5');
    net.stabilize();
    expect(askedFor(net, 'r5')).toEqual([other]);
  });

  it('a round whose follower stopped answering is confirmed by the next periodic heartbeat, which goes to everyone', () => {
    const { net, asked } = afterTwoRounds();
    net.cut('n1', asked);
    net.node('n1').readIndex('r3');
    net.stabilize();
    expect(net.readStates.get('n1')!.map((r) => r.context)).toEqual(['r1', 'r2']);
    net.tick('n1');
    net.stabilize();
    expect(net.readStates.get('n1')!.map((r) => r.context)).toEqual(['r1', 'r2', 'r3']);
    net.node('n1').readIndex('r4');
    net.stabilize();
    expect(askedFor(net, 'r4')).toEqual([asked === 'n2' ? 'n3' : 'n2']);
  });

  it('asks everyone once a promotion makes the followers it would ask too few for a majority, and never a learner', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'], learners: ['l1'] });
    net.elect('n1');
    for (const context of ['r1', 'r2']) {
      net.node('n1').readIndex(context);
      net.stabilize();
    }
    expect(askedFor(net, 'r2')).toHaveLength(1);
    expect(askedFor(net, 'r2')).not.toContain('l1');
    expect(net.node('n1').proposeConfChange({ type: 'promote', node: 'l1' })).toMatchObject({ ok: true });
    net.stabilize();
    expect(net.node('n1').status().confState.voters).toContain('l1');
    net.node('n1').readIndex('r3'); // four voters: the leader and one follower are not a majority
    net.stabilize();
    expect(askedFor(net, 'r3')).toEqual(['l1', 'n2', 'n3']);
    expect(net.readStates.get('n1')!.map((r) => r.context)).toEqual(['r1', 'r2', 'r3']);
  });

  it('asks everyone again once the followers it would ask no longer make a majority (one was removed)', () => {
    const { net, asked } = afterTwoRounds();
    expect(net.node('n1').proposeConfChange({ type: 'remove', node: asked })).toMatchObject({ ok: true });
    net.stabilize();
    expect(net.node('n1').status().confState.voters).not.toContain(asked);
    net.node('n1').readIndex('r3');
    net.stabilize();
    expect(askedFor(net, 'r3')).toEqual([asked === 'n2' ? 'n3' : 'n2']);
    expect(net.readStates.get('n1')!.map((r) => r.context)).toEqual(['r1', 'r2', 'r3']);
  });
});
