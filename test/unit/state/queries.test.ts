// Lists and network stats from DuckDB SQL agree with the in-memory model after random
// command logs (the model is the reference: same rows, computed another way).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../../raft/core/types.js';
import { chunkFactorOf } from '../../../src/state/apply-files.js';
import { CoordinatorState, encodeCommand, type Model } from '../../../src/state/index.js';
import { listNodes, listTasks, networkStats } from '../../../src/state/queries.js';
import type { Cmd } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-queries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function referenceStats(model: Model) {
  const count = (values: string[]) => Object.fromEntries([...new Set(values)].sort().map((v) => [v, values.filter((x) => x === v).length]));
  const nodes = [...model.nodes.values()];
  const active = nodes.filter((n) => n.status === 'active');
  const hashes = [...model.replicas.hashes()].filter((h) => model.replicas.filesOf(h).length > 0);
  const under = hashes.filter((h) => model.replicasOf(h).filter((r) => model.nodes.get(r.node_id)?.status === 'active').length < chunkFactorOf(model, h));
  return {
    capacity_bytes: active.reduce((n, x) => n + x.capacity, 0), used_bytes: active.reduce((n, x) => n + x.used, 0),
    nodes: count(nodes.map((n) => n.status)), files: model.files.size, chunks: hashes.length, replicas: model.replicas.size,
    under_replicated_chunks: under.length, tasks: count([...model.tasks.values()].map((t) => t.status)),
  };
}

const node = fc.constantFrom('a', 'b', 'c', 'd');
// Files whose hashes are all lowercase hex keep their chunk lists packed; with 'h1' or 'h2' they keep JSON.
const hash = fc.constantFrom('h1', 'h2', '0f'.repeat(32), 'ab'.repeat(32));
const command: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ id: node, cap: fc.integer({ min: 10, max: 1000 }) }).map(({ id, cap }): Cmd => ({ type: 'node.register', id, addresses: [`${id}:1`], storage_capacity: cap, capabilities: {} })),
  fc.record({ id: node, used: fc.nat(100), temp: fc.option(fc.nat(90)) }).map(({ id, used, temp }): Cmd => ({ type: 'node.heartbeat_batch',
    beats: [{ id, used_bytes: used, ...(temp === null ? {} : { stats: { temp, disk: 'sda' } }) }] })),
  node.map((id): Cmd => ({ type: 'node.unregister', id })),
  fc.constant<Cmd>({ type: 'sweep' }),
  fc.record({ f: fc.constantFrom('f1', 'f2'), chunks: fc.uniqueArray(hash, { minLength: 1, maxLength: 3 }), rf: fc.integer({ min: 1, max: 3 }) })
    .map(({ f, chunks, rf }): Cmd => ({ type: 'file.register', file_id: f, name: f, size: 10, replication_factor: rf, chunks: chunks.map((h) => ({ hash: h, size: 5 })) })),
  fc.constantFrom('f1', 'f2').map((f): Cmd => ({ type: 'file.delete', file_id: f })),
  fc.record({ n: node, lost: fc.array(hash, { maxLength: 2 }) }).map(({ n, lost }): Cmd => ({ type: 'replica.report', node_id: n, stored: [], lost })),
  fc.constantFrom('t1', 't2', 't3').map((id): Cmd => ({ type: 'task.submit', id, kind: 'k', payload: null, priority: 0 })),
  node.map((w): Cmd => ({ type: 'task.claim', worker_id: w, lease_ms: 50 })),
);

describe('SQL lists and stats', () => {
  it('equal the model after random logs', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (cmds) => {
      const state = await CoordinatorState.open({ dbPath: join(dir, `q${run++}.duckdb`), flushIntervalMs: 60_000,
        limits: { nodeTimeoutMs: 100, nodeInactiveAfterMs: 200, replicationFactor: 2, taskMaxAttempts: 2, idempotencyRetentionMs: 1000 } });
      try {
        const entries: Entry[] = cmds.map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal', data: encodeCommand({ v: 1, ts: 1000 + i * 40, cmd }) }));
        await state.apply(entries);
        const stats = await networkStats(state);
        expect(stats).toEqual({ ...referenceStats(state.model), applied_index: entries.length });
        expect(state.model.underReplicatedChunks()).toBe(stats.under_replicated_chunks); // the /metrics gauge's cheap count
        for (const status of [undefined, 'active', 'inactive']) {
          const { rows } = await listNodes(state, status);
          expect(rows).toEqual([...state.model.nodes.values()].filter((n) => status === undefined || n.status === status).sort((x, y) => (x.id < y.id ? -1 : 1)));
        }
        const queued = (await listTasks(state, 'queued')).rows.map((t) => t.id).sort();
        expect(queued).toEqual([...state.model.tasks.values()].filter((t) => t.status === 'queued').map((t) => t.id).sort());
      } finally {
        await state.close();
      }
    }), { numRuns: 40 });
  });

  it('count the chunks of files with tens of thousands of chunks, packed and JSON, in one pass over each list', async () => {
    // The stats once rebuilt a packed list's hex per chunk: quadratic, out of memory at 10,000 chunks in one file.
    const state = await CoordinatorState.open({ dbPath: join(dir, 'big.duckdb'), flushIntervalMs: 60_000 });
    try {
      const chunks = (hash: (i: number) => string) => Array.from({ length: 20_000 }, (_, i) => ({ hash: hash(i), size: 1 }));
      const cmds: Cmd[] = [
        { type: 'node.register', id: 'a', addresses: ['a:1'], storage_capacity: 1e12, capabilities: {} },
        { type: 'file.register', file_id: 'hex', name: 'hex', size: 20_000, replication_factor: 1, chunks: chunks((i) => `e${i.toString(16).padStart(63, '0')}`) },
        { type: 'file.register', file_id: 'json', name: 'json', size: 20_000, replication_factor: 2, chunks: chunks((i) => `chunk-${i}`) },
      ];
      await state.apply(cmds.map((cmd, i) => ({ index: i + 1, term: 1, type: 'normal', data: encodeCommand({ v: 1, ts: 1000 + i, cmd }) })));
      await state.flush();
      expect((await state.query(`SELECT k, starts_with(chunks, '#') AS packed FROM files ORDER BY k`)).map((r) => r.packed)).toEqual([true, false]);
      const stats = await networkStats(state);
      expect(stats).toEqual({ ...referenceStats(state.model), applied_index: 3 });
      expect(stats.chunks).toBe(40_000);
    } finally {
      await state.close();
    }
  });
});
