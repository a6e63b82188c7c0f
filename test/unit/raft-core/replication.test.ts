import { describe, expect, it } from 'vitest';
import type { AppendMessage, AppendResponseMessage } from '../../../raft/core/index.js';
import { Net, entriesOf } from './network.js';

/** These clusters start from restarted disks and elect at once, without waiting out restartQuiet (a lease-read rule, not theirs). */
const RESTARTED_VOTE_AT_ONCE = { restartQuiet: false };

const text = (s: string) => new TextEncoder().encode(s);

describe('replication and commit', () => {
  it('commits only entries of the leader\'s term by counting (paper §5.4.2)', () => {
    const old = [...entriesOf(1, 1, 1), ...entriesOf(2, 2, 2)];
    const net = new Net({
      voters: ['n1', 'n2', 'n3'],
      config: RESTARTED_VOTE_AT_ONCE,
      initial: {
        n1: { hardState: { term: 2, vote: null, commit: 1 }, entries: old },
        n2: { hardState: { term: 2, vote: null, commit: 1 }, entries: old },
        n3: { hardState: { term: 2, vote: null, commit: 1 }, entries: old.slice(0, 1) },
      },
    });
    // Let n2 confirm index 2 (old term) but not the new no-op at 3: strip entries from appends.
    net.filter = (m) => {
      if (m.type !== 'append' || m.entries.length === 0) return true;
      if (m.to === 'n2') net.node('n2').step({ ...m, entries: [] } as AppendMessage);
      return false;
    };
    net.elect('n1');
    const leader = net.node('n1').status();
    expect(leader.progress.find((p) => p.id === 'n2')?.match).toBe(2);
    expect(leader.commit).toBe(1); // index 2 is on a majority, but it is of term 2
    net.filter = null;
    net.tick('n1');
    net.stabilize();
    expect(net.node('n1').status().commit).toBe(3);
  });

  it('the leader counts itself only for entries covered by advance()', () => {
    const net = new Net({ voters: ['n1', 'n2'] });
    net.elect('n1');
    const n1 = net.node('n1');
    const index = net.propose('n1', 'x');
    const ready = n1.ready(); // the driver sends before its own fsync completes
    for (const m of ready.messages) net.node(m.to).step(m);
    net.process('n2');
    net.deliver();
    expect(n1.status().progress[0].match).toBe(index);
    expect(n1.status().commit).toBe(index - 1);
    n1.advance();
    expect(n1.status().commit).toBe(index);
  });

  it('a single voter commits after its own advance()', () => {
    const net = new Net({ voters: ['n1'] });
    net.node('n1').campaign();
    expect(net.node('n1').status()).toMatchObject({ role: 'leader', commit: 0 });
    net.stabilize();
    expect(net.node('n1').status().commit).toBe(1);
  });

  it('pipelines up to inflightMessagesMax appends to a follower in replicate state', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'], config: { inflightMessagesMax: 2, appendEntriesMax: 1 } });
    net.elect('n1');
    expect(net.node('n1').status().progress.every((p) => p.state === 'replicate')).toBe(true);
    for (let i = 0; i < 5; i++) net.node('n1').propose(text(`p${i}`));
    const appends = net.node('n1').ready().messages.filter((m) => m.type === 'append' && m.to === 'n2') as AppendMessage[];
    expect(appends.map((m) => m.entries.length)).toEqual([1, 1]);
    expect(net.node('n1').status().progress.find((p) => p.id === 'n2')?.inflight).toBe(2);
  });

  it('batches by count and bytes, always sending at least one entry', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'], config: { appendEntriesMax: 3, appendBytesMax: 25 } });
    net.elect('n1');
    net.isolate('n3');
    for (let i = 0; i < 4; i++) net.propose('n1', 'x'.repeat(10));
    net.propose('n1', 'y'.repeat(100));
    net.stabilize();
    net.heal();
    net.tick('n1');
    net.stabilize();
    const sizes = (net.sentOf('append', 'n3') as AppendMessage[]).filter((m) => m.entries.length > 0)
      .map((m) => m.entries.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(sizes).toContain(1); // the 100-byte entry goes alone
    expect(net.node('n3').status().lastIndex).toBe(net.node('n1').status().lastIndex);
  });

  it('fast back-tracking skips a divergent suffix in a few round trips', () => {
    const good = [...entriesOf(1, 5, 1), ...entriesOf(6, 30, 3)];
    const bad = [...entriesOf(1, 5, 1), ...entriesOf(6, 30, 2)];
    const hs = { term: 3, vote: null, commit: 5 };
    const net = new Net({
      voters: ['n1', 'n2', 'n3'],
      config: RESTARTED_VOTE_AT_ONCE,
      initial: { n1: { hardState: hs, entries: good }, n2: { hardState: hs, entries: good }, n3: { hardState: hs, entries: bad } },
    });
    net.elect('n1');
    const rejects = (net.sentOf('appendResponse') as AppendResponseMessage[]).filter((m) => m.from === 'n3' && m.reject);
    expect(rejects.length).toBeGreaterThan(0);
    expect(rejects.length).toBeLessThanOrEqual(2);
    expect(rejects[0].hintIndex).toBe(30); // its last index with term ≤ 3
    expect(net.node('n3').entries(6, 31).map((e) => e.term)).toEqual(net.node('n1').entries(6, 31).map((e) => e.term));
  });

  it('a follower stuck in probe recovers through heartbeat answers (etcd-io/raft#52, etcd#14633)', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.node('n1').reportUnreachable('n2');
    expect(net.node('n1').status().progress.find((p) => p.id === 'n2')?.state).toBe('probe');
    net.cut('n1', 'n2');
    const index = net.propose('n1', 'lost');
    net.stabilize(); // the probe append to n2 is lost; n2 is now paused
    net.heal();
    net.tick('n1');
    const ready = net.node('n1').ready();
    expect(ready.messages.some((m) => m.type === 'heartbeat' && m.to === 'n2')).toBe(true);
    for (const m of ready.messages) net.node(m.to).step(m);
    net.node('n1').advance();
    net.stabilize();
    expect(net.node('n2').status().lastIndex).toBe(index);
    expect(net.node('n2').status().commit).toBe(index);
  });

  it('propose on a follower is refused with the leader; too many uncommitted is refused', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'], config: { uncommittedEntriesMax: 3 } });
    net.elect('n1');
    expect(net.node('n2').propose(text('x'))).toEqual({ ok: false, reason: 'notLeader', leader: 'n1' });
    net.isolate('n1');
    const results = Array.from({ length: 5 }, () => net.node('n1').propose(text('y')));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results[4]).toMatchObject({ ok: false, reason: 'tooManyUncommitted' });
  });
});

describe('the commit index a follower has heard of (leaderCommit)', () => {
  it('is the highest its leader announced this term, beyond what the follower holds; a new term starts it again', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    const n3 = net.node('n3');
    // An append that carries two entries of a log the leader has committed to 30: n3 can commit only what it holds.
    n3.step({ type: 'append', from: 'n1', to: 'n3', term: 2, prevIndex: 0, prevTerm: 0, entries: entriesOf(1, 2, 2), commit: 30 });
    expect(n3.status()).toMatchObject({ role: 'follower', leader: 'n1', commit: 2, leaderCommit: 30 });
    // A heartbeat's commit is capped at what the follower matches: it does not lower what was heard.
    n3.step({ type: 'heartbeat', from: 'n1', to: 'n3', term: 2, commit: 2, context: null });
    expect(n3.status()).toMatchObject({ commit: 2, leaderCommit: 30 });
    // The next term's leader: what it announces counts, the old leader's does not (here a snapshot at 12).
    const confState = { voters: ['n1', 'n2', 'n3'], learners: [] };
    n3.step({ type: 'snapshot', from: 'n2', to: 'n3', term: 3, snapshot: { index: 12, term: 3, confState } });
    expect(n3.status()).toMatchObject({ term: 3, leader: 'n2', commit: 12, leaderCommit: 12 });
    n3.step({ type: 'append', from: 'n2', to: 'n3', term: 3, prevIndex: 12, prevTerm: 3, entries: [], commit: 40 });
    expect(n3.status()).toMatchObject({ commit: 12, leaderCommit: 40 });
    // A leader of a later term that has announced nothing higher: the follower knows only its own commit again.
    n3.step({ type: 'heartbeat', from: 'n1', to: 'n3', term: 4, commit: 0, context: null });
    expect(n3.status()).toMatchObject({ term: 4, leader: 'n1', commit: 12, leaderCommit: 12 });
  });

  it('is the leader\'s own commit on the leader', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.propose('n1', 'x');
    net.stabilize();
    const leader = net.node('n1').status();
    expect(leader.leaderCommit).toBe(leader.commit);
    expect(net.node('n2').status().leaderCommit).toBe(leader.commit);
  });
});
