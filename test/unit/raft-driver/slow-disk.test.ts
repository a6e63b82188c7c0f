// Three real Raft drivers (one process, HTTP on loopback): the leader's fsync stalls
// for several election timeouts. Its heartbeats still go out while the Ready waits on
// the disk, so the followers keep it: no election, the write completes in the same term.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRaftNode, type RaftNode } from '../../../raft/server.js';
import { MapStateMachine } from '../../integration/fixtures/map-state-machine.js';
import { faultFs } from '../../helpers/fault-fs.js';
import { freePorts } from '../../helpers/ports.js';
import { waitUntil } from '../../helpers/wait.js';

/** A disk whose fdatasync takes `delayMs` longer while that is set. */
function slowFs(disk: { delayMs: number }) {
  return faultFs(async () => {
    if (disk.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, disk.delayMs));
  });
}

interface Member { id: string; raft: RaftNode; app: FastifyInstance; disk: { delayMs: number } }

describe('raft driver on a slow disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-slow-disk-'));
  const members: Member[] = [];

  beforeAll(async () => {
    const ids = ['d1', 'd2', 'd3'];
    const ports = await freePorts(3);
    for (const [i, id] of ids.entries()) {
      const disk = { delayMs: 0 };
      const raft = await createRaftNode({
        id, host: '127.0.0.1', port: ports[i], dataDir: join(dir, id), stateMachine: await MapStateMachine.open(join(dir, `${id}.json`)),
        clusterSecret: 'slow-disk-secret', peers: ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: ports[ids.indexOf(p)] })),
        logger: pino({ level: 'silent' }), electionTimeoutMinMs: 500, electionTimeoutMaxMs: 1000, heartbeatIntervalMs: 100,
        snapshotThreshold: 1000, snapshotTailEntries: 100, requestTimeoutMs: 20_000, peerTimeoutMs: 1000, storageFs: slowFs(disk),
      });
      const app = Fastify({ logger: false });
      raft.mount(app);
      await app.listen({ host: '127.0.0.1', port: ports[i] });
      members.push({ id, raft, app, disk });
    }
    for (const m of members) m.raft.start();
  });

  afterAll(async () => {
    for (const m of members) {
      m.disk.delayMs = 0;
      await m.raft.stop();
      await m.app.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its leader through an fsync stall of several election timeouts', async () => {
    const leader = await waitUntil(() => members.find((m) => m.raft.isLeader()), { timeoutMs: 20_000, what: 'a leader' });
    const put = (key: string) => leader.raft.propose(Buffer.from(JSON.stringify({ key, value: key })));
    await put('before');
    await waitUntil(() => members.every((m) => m.raft.status().leader === leader.id), { timeoutMs: 10_000, what: 'everyone to know the leader' });
    const term = leader.raft.status().term;
    const changes: string[] = [];
    for (const m of members) m.raft.onLeaderChange((id, t) => changes.push(`${m.id}: ${id} @${t}`));

    leader.disk.delayMs = 3000; // 3–6 election timeouts
    const started = Date.now();
    await put('during');
    leader.disk.delayMs = 0;
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500); // the stall really happened

    expect(changes).toEqual([]);
    for (const m of members) expect(m.raft.status()).toMatchObject({ term, leader: leader.id });
  });
});
