import { describe, expect, it } from 'vitest';
import { InvariantError, RawNode, encodeConfChange, type AppendMessage, type Entry } from '../../../raft/core/index.js';
import { Net, entriesOf, entry, testConfig } from './network.js';

const conf = { voters: ['n1', 'n2', 'n3'], learners: [] };

describe('Ready / advance', () => {
  it('hard and soft state appear only when they change', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.tick('n1');
    const ready = net.node('n1').ready();
    expect(ready.hardState).toBeNull();
    expect(ready.softState).toBeNull();
    expect(ready.messages.filter((m) => m.type === 'heartbeat')).toHaveLength(2);
    net.node('n1').advance();
    net.node('n2').campaign();
    expect(net.node('n2').ready().softState).toEqual({ role: 'preCandidate', leader: null });
  });

  it('advance() must follow ready(), and ready() cannot be taken twice', () => {
    const net = new Net({ voters: ['n1'] });
    expect(() => net.node('n1').advance()).toThrow(InvariantError);
    net.node('n1').campaign();
    net.node('n1').ready();
    expect(() => net.node('n1').ready()).toThrow(InvariantError);
    expect(net.node('n1').hasReady()).toBe(false);
  });

  it('messages accumulate between ready() calls', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.tick('n1');
    net.tick('n1');
    expect(net.node('n1').ready().messages.filter((m) => m.type === 'heartbeat')).toHaveLength(4);
  });

  it('entries to persist may overwrite a suffix; committed entries come once', () => {
    const node = new RawNode(testConfig('n2'), {
      hardState: { term: 1, vote: null, commit: 2 }, snapshot: null, entries: entriesOf(1, 4, 1), applied: 0,
      bootstrapConfState: conf,
    });
    const append: AppendMessage = {
      type: 'append', from: 'n1', to: 'n2', term: 2, prevIndex: 2, prevTerm: 1,
      entries: [entry(3, 2, 'new3')], commit: 3,
    };
    node.step(append);
    const first = node.ready();
    expect(first.entries.map((e) => [e.index, e.term])).toEqual([[3, 2]]);
    expect(first.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(first.hardState).toEqual({ term: 2, vote: null, commit: 3 });
    node.advance();
    expect(node.status()).toMatchObject({ applied: 3, lastIndex: 3 });
    expect(node.hasReady()).toBe(false);
  });

  it('hands out durable committed entries while a Ready is being written, once, and only durable ones', () => {
    const node = new RawNode(testConfig('n2'), {
      hardState: { term: 1, vote: null, commit: 0 }, snapshot: null, entries: entriesOf(1, 4, 1), applied: 0,
      bootstrapConfState: conf,
    });
    node.step({ type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 4, prevTerm: 1, entries: [entry(5, 1, 'five')], commit: 2 });
    const writing = node.ready();
    expect(writing.entries.map((e) => e.index)).toEqual([5]);
    expect(writing.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(node.takeCommitted().entries).toEqual([]);
    // The leader's commit moves on while entry 5 is still being written: 3 and 4 are durable here.
    node.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 5, context: null });
    expect(node.takeCommitted().entries.map((e) => e.index)).toEqual([3, 4]);
    expect(node.takeCommitted().entries).toEqual([]);
    node.advance();
    // advance() acknowledged what was taken; the next Ready hands out only entry 5, now durable.
    expect(node.status().applied).toBe(4);
    const next = node.ready();
    expect(next.committedEntries.map((e) => e.index)).toEqual([5]);
    node.advance();
    expect(node.status()).toMatchObject({ applied: 5, commit: 5 });
    expect(node.hasReady()).toBe(false);
  });

  it('takes no committed entry past a membership change: it is applied next to the advance() that makes it count', () => {
    const change: Entry = { index: 4, term: 1, type: 'confChange', data: encodeConfChange({ type: 'addLearner', node: 'n4' }) };
    const node = new RawNode(testConfig('n2'), {
      hardState: { term: 1, vote: null, commit: 0 }, snapshot: null, entries: [...entriesOf(1, 3, 1), change, entry(5, 1, 'five')], applied: 0,
      bootstrapConfState: conf,
    });
    node.step({ type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 5, prevTerm: 1, entries: [entry(6, 1, 'six')], commit: 1 });
    node.ready();
    node.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 5, context: null });
    expect(node.takeCommitted().entries.map((e) => e.index)).toEqual([2, 3]);
    expect(node.takeCommitted().entries).toEqual([]);
    node.advance();
    const next = node.ready();
    expect(next.committedEntries.map((e) => e.index)).toEqual([4, 5]);
    // While a Ready with a membership change is out, nothing overtakes it.
    node.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 6, context: null });
    expect(node.takeCommitted().entries).toEqual([]);
    node.advance();
    expect(node.status().confState.learners).toEqual(['n4']);
    expect(node.ready().committedEntries.map((e) => e.index)).toEqual([6]);
  });

  it('refuses to start with a commit beyond the last index (etcd#10166)', () => {
    expect(() => new RawNode(testConfig('n1'), {
      hardState: { term: 1, vote: null, commit: 9 }, snapshot: null, entries: entriesOf(1, 3, 1), applied: 0,
      bootstrapConfState: conf,
    })).toThrow(/etcd#10166/);
  });

  it('restarts from a snapshot and a log tail', () => {
    const node = new RawNode(testConfig('n1'), {
      hardState: { term: 3, vote: 'n1', commit: 12 }, applied: 11, bootstrapConfState: conf,
      snapshot: { index: 10, term: 2, confState: { voters: ['n1', 'n2'], learners: [] } },
      entries: entriesOf(11, 13, 3),
    });
    expect(node.status()).toMatchObject({ firstIndex: 11, lastIndex: 13, commit: 12, applied: 11, snapshotIndex: 10 });
    expect(node.status().confState.voters).toEqual(['n1', 'n2']);
    expect(node.ready().committedEntries.map((e) => e.index)).toEqual([12]);
  });
});

describe('malformed peer input', () => {
  it('is dropped without crashing or changing state', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    const n2 = net.node('n2');
    const before = n2.status();
    const gap: AppendMessage = {
      type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 1, prevTerm: 1, commit: 1, entries: [entry(5, 1)],
    };
    n2.step(gap);
    n2.step({ ...gap, entries: [entry(2, 7)] }); // entry term above the message term
    n2.step({ ...gap, term: -1 });
    n2.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: Number.NaN, context: null });
    expect(n2.status()).toEqual(before);
    const n1 = net.node('n1');
    n1.step({ type: 'appendResponse', from: 'n2', to: 'n1', term: 1, index: 999, reject: false, hintIndex: 0, hintTerm: 0 });
    expect(n1.status().commit).toBe(1);
    expect(n1.status().progress.find((p) => p.id === 'n2')?.match).toBe(1);
  });
});
