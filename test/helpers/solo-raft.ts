// One Raft driver on its own (no peers, no HTTP), elected leader, for driver tests:
// the timings and limits the driver tests share, overridable per test.
import { pino } from 'pino';
import { createRaftNode, type RaftNode, type RaftNodeOptions, type RaftObserver } from '../../raft/server.js';

export async function startSoloRaft(options: Pick<RaftNodeOptions, 'dataDir' | 'stateMachine'> & Partial<RaftNodeOptions>, observer?: RaftObserver): Promise<RaftNode> {
  const node = await createRaftNode({
    id: 'n1', host: '127.0.0.1', port: 1, peers: [], clusterSecret: 's', logger: pino({ level: 'silent' }),
    electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 50,
    snapshotThreshold: 1000, snapshotTailEntries: 10, requestTimeoutMs: 20_000, peerTimeoutMs: 1000,
    ...options,
  }, observer);
  const elected = new Promise<void>((resolve) => node.onLeaderChange((leader) => { if (leader === node.id) resolve(); }));
  node.start();
  await elected;
  return node;
}
