// The coordinator state machine replicated by three real Raft nodes (in one
// process, real HTTP on loopback, real WAL and DuckDB files): every replica
// applies the same commands and ends with the same checksum, in memory and in DuckDB.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRaftNode, type RaftNode } from '../../raft/server.js';
import { CoordinatorState, encodeCommand, type CommandInput, type CommandResult } from '../../src/state/index.js';
import { freePorts } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';

interface Member { id: string; raft: RaftNode; state: CoordinatorState; app: FastifyInstance; seen: { committed: number; applied: number } }

describe('coordinator state machine under Raft', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-coord-'));
  const members: Member[] = [];

  beforeAll(async () => {
    const ids = ['c1', 'c2', 'c3'];
    const ports = await freePorts(3);
    for (const [i, id] of ids.entries()) {
      const seen = { committed: 0, applied: 0 };
      const state = await CoordinatorState.open({ dbPath: join(dir, `${id}.duckdb`), flushIntervalMs: 50, checksumInterval: 5 });
      const raft = await createRaftNode({
        id, host: '127.0.0.1', port: ports[i], dataDir: join(dir, id), stateMachine: state, clusterSecret: 'integration-secret',
        peers: ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: ports[ids.indexOf(p)] })),
        logger: pino({ level: 'silent' }), electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000, heartbeatIntervalMs: 100,
        snapshotThreshold: 1000, snapshotTailEntries: 100, requestTimeoutMs: 10_000, peerTimeoutMs: 1000,
      }, { onCommit: (n) => { seen.committed += n; }, onApply: (_s, n) => { seen.applied += n; } });
      const app = Fastify({ logger: false });
      raft.mount(app);
      await app.listen({ host: '127.0.0.1', port: ports[i] });
      members.push({ id, raft, state, app, seen });
    }
    for (const m of members) m.raft.start();
  });

  afterAll(async () => {
    for (const m of members) {
      await m.raft.stop();
      await m.app.close();
      await m.state.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('replicates coordinator commands and converges on one checksum', async () => {
    const leader = await waitUntil(() => members.find((m) => m.raft.isLeader()), { timeoutMs: 15_000, what: 'a leader' });
    let ts = Date.now();
    const propose = async (cmd: CommandInput['cmd']): Promise<CommandResult> =>
      (await leader.raft.propose(encodeCommand({ v: 1, ts: ts++, cmd }))).result as CommandResult;
    for (const id of ['s1', 's2', 's3']) {
      expect(await propose({ type: 'node.register', id, addresses: [`${id}:1`], storage_capacity: 1e9, capabilities: {} })).toMatchObject({ ok: true });
    }
    const placed = await propose({ type: 'file.register', file_id: 'f', name: 'f', size: 20, chunks: [{ hash: 'a', size: 10 }, { hash: 'b', size: 10 }] });
    expect(placed).toMatchObject({ ok: true, value: { replication_factor: 3 } });
    expect(await propose({ type: 'task.submit', id: 't', kind: 'k', payload: null })).toMatchObject({ ok: true });
    expect(await propose({ type: 'task.submit', id: 't', kind: 'k', payload: null })).toMatchObject({ ok: false, error: { code: 'CONCORD_ERR_CONFLICT' } });
    const target = leader.state.appliedIndex();
    await waitUntil(() => members.every((m) => m.state.appliedIndex() >= target), { timeoutMs: 15_000, what: 'every replica to apply' });
    const checksums = members.map((m) => m.state.checksum().checksum);
    expect(new Set(checksums).size).toBe(1);
    for (const m of members) expect((await m.state.checksumFromDatabase()).checksum).toBe(checksums[0]);
    // A follower's linearizable read sees the leader's writes.
    const follower = members.find((m) => m !== leader)!;
    await follower.raft.readBarrier();
    expect(follower.state.model.tasks.get('t')?.status).toBe('queued');
    // The observer saw every entry of the fresh log committed, then applied, on every replica (what the metrics count).
    for (const m of members) {
      await waitUntil(() => m.seen.applied === m.state.appliedIndex() && m.seen.committed === m.seen.applied,
        { timeoutMs: 5000, what: `${m.id}'s observer counts to match its applied index` });
    }
  });
});
