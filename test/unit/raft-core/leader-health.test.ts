import { describe, expect, it } from 'vitest';
import { Net } from './network.js';

describe('leadership depends on a live quorum and a working disk', () => {
  it('CheckQuorum: a leader cut off from the majority steps down within two electionTicksMin rounds', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.isolate('n1');
    let ticks = 0;
    while (net.node('n1').status().role === 'leader' && ticks < 100) { net.tick('n1'); ticks++; }
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(ticks).toBeLessThanOrEqual(20);
    expect(net.node('n1').status()).toMatchObject({ role: 'follower', leader: null, term: 1 });
  });

  it('CheckQuorum keeps a leader that hears from a majority', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'] });
    net.elect('n1');
    net.isolate('n3');
    for (let i = 0; i < 50; i++) { net.tick('n1'); net.stabilize(); }
    expect(net.node('n1').status().role).toBe('leader');
  });

  it('a leader whose own log write stalls steps down (hashicorp/raft#503)', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'], config: { persistStallTicksMax: 5 } });
    net.elect('n1');
    net.held.add('n1'); // the driver never gets past persisting this Ready
    net.propose('n1', 'stuck');
    net.tick('n1', 4);
    expect(net.node('n1').status().role).toBe('leader');
    net.tick('n1');
    expect(net.node('n1').status().role).toBe('follower');
  });

  it('a leader that keeps persisting is not considered stalled', () => {
    const net = new Net({ voters: ['n1', 'n2', 'n3'], config: { persistStallTicksMax: 5 } });
    net.elect('n1');
    for (let i = 0; i < 20; i++) {
      net.propose('n1', `p${i}`);
      net.tick('n1');
      net.stabilize();
    }
    expect(net.node('n1').status().role).toBe('leader');
  });
});
