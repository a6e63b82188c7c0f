import { describe, expect, it } from 'vitest';
import { RawNode, type AppendResponseMessage, type Message } from '../../../raft/core/index.js';
import { Net, entriesOf, testConfig } from './network.js';

const conf = { voters: ['n1', 'n2', 'n3'], learners: [] };

function follower(entries = entriesOf(1, 8, 1), commit = 3): RawNode {
  return new RawNode(testConfig('n2'), {
    hardState: { term: 2, vote: null, commit }, snapshot: null, entries, applied: 0, bootstrapConfState: conf,
  });
}

function snapshotMessage(index: number, term: number, voters = conf.voters): Message {
  return { type: 'snapshot', from: 'n1', to: 'n2', term: 2, snapshot: { index, term, confState: { voters, learners: [] } } };
}

function replies(messages: readonly Message[]): AppendResponseMessage[] {
  return messages.filter((m): m is AppendResponseMessage => m.type === 'appendResponse');
}

/** n3 misses `count` entries that the leader n1 then compacts away; the network is healed. */
function behindCompaction(count: number): Net {
  const net = new Net({ voters: ['n1', 'n2', 'n3'] });
  net.elect('n1');
  net.isolate('n3');
  for (let i = 0; i < count; i++) net.propose('n1', `x${i}`);
  net.stabilize();
  net.node('n1').compact(net.node('n1').status().applied, 0);
  net.heal();
  return net;
}

describe('log compaction and snapshots', () => {
  it('compact records the meta at the index and keeps a tail of entries', () => {
    const net = new Net({ voters: ['n1'] });
    net.elect('n1');
    for (let i = 0; i < 9; i++) net.propose('n1', `x${i}`);
    net.stabilize();
    const meta = net.node('n1').compact(8, 3);
    expect(meta).toEqual({ index: 8, term: 1, confState: { voters: ['n1'], learners: [] } });
    expect(net.node('n1').status()).toMatchObject({ snapshotIndex: 8, firstIndex: 6 });
    expect(() => net.node('n1').compact(11, 0)).toThrow(/applied/);
  });

  it('a far-behind follower gets one snapshot, then replicates from it (hashicorp/raft#212)', () => {
    const net = behindCompaction(10);
    net.tickAll(3);
    expect(net.installed.get('n3')?.map((s) => s.index)).toEqual([11]);
    expect(net.sentOf('snapshot')).toHaveLength(1);
    net.propose('n1', 'after');
    net.stabilize();
    expect(net.node('n3').status()).toMatchObject({ lastIndex: 12, commit: 12 });
    expect(net.node('n1').status().progress.find((p) => p.id === 'n3')?.state).toBe('replicate');
  });

  it('a snapshot at or below the commit is ignored and answered with the commit', () => {
    const node = follower();
    node.step(snapshotMessage(3, 1));
    const ready = node.ready();
    expect(ready.snapshot).toBeNull();
    expect(ready.messages).toContainEqual(expect.objectContaining({ type: 'appendResponse', index: 3, reject: false }));
    expect(node.status().lastIndex).toBe(8);
  });

  it('a snapshot whose last entry we hold only fast-forwards the commit', () => {
    const node = follower();
    node.step(snapshotMessage(6, 1));
    expect(node.status()).toMatchObject({ commit: 6, lastIndex: 8 });
    const ready = node.ready();
    expect(ready.snapshot).toBeNull();
    expect(ready.messages).toContainEqual(expect.objectContaining({ index: 6 }));
  });

  it('otherwise the whole log is dropped and the ConfState adopted (fig. 13 rule 7, hashicorp/raft#697)', () => {
    const node = follower();
    node.step(snapshotMessage(6, 2, ['n1', 'n2']));
    expect(node.status()).toMatchObject({ commit: 6, lastIndex: 6, snapshotIndex: 6 });
    expect(node.status().confState.voters).toEqual(['n1', 'n2']);
    expect(node.entries(1, 10)).toEqual([]);
    const ready = node.ready();
    expect(ready.snapshot?.index).toBe(6);
    expect(ready.committedEntries).toEqual([]);
    // After restore the follower answers with the snapshot index, so the leader moves on (hashicorp/raft#212).
    expect(replies(ready.messages).map((m) => [m.index, m.reject])).toEqual([[6, false]]);
    node.advance();
    expect(node.status().applied).toBe(6);
  });

  it('compact reports the ConfState in force at the snapshot index', () => {
    const net = new Net({ voters: ['n1'] });
    net.elect('n1');
    const change = net.node('n1').proposeConfChange({ type: 'addLearner', node: 'n9' });
    expect(change.ok).toBe(true);
    net.stabilize();
    const at = change.ok ? change.index : 0;
    expect(net.node('n1').compact(at - 1, 0).confState.learners).toEqual([]);
    expect(net.node('n1').compact(at, 0).confState.learners).toEqual(['n9']);
  });

  it('a follower waiting on a snapshot is paused until reportSnapshot, then probed again', () => {
    const net = behindCompaction(5);
    net.filter = (m) => m.type !== 'snapshot'; // the stream fails in transit
    net.tickAll(1);
    const progress = () => net.node('n1').status().progress.find((p) => p.id === 'n3');
    expect(progress()?.state).toBe('snapshot');
    net.tickAll(5);
    expect(net.sentOf('snapshot')).toHaveLength(1); // no retry storm while paused
    net.filter = null;
    net.node('n1').reportSnapshot('n3', false);
    expect(progress()?.state).toBe('probe');
    net.tickAll(2);
    expect(net.installed.get('n3')).toHaveLength(1);
    expect(progress()?.state).toBe('replicate');
  });
});