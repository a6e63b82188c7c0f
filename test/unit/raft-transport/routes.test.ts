// The peer routes over real loopback sockets: signatures are required, malformed
// bodies never reach the core, snapshots stream in resumable, checksummed chunks.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message, SnapshotMessage } from '../../../raft/core/index.js';
import { PeerTransport, SIGNATURE_HEADER, encodeMessages, registerRaftRoutes, sign } from '../../../raft/transport/index.js';

const SECRET = 'test-secret-123';
const logger = pino({ level: 'silent' });

interface Node { app: FastifyInstance; port: number; received: Message[]; snapshots: { message: SnapshotMessage; bytes: Buffer; addresses: Readonly<Record<string, string>> }[]; dir: string }

async function startNode(id: string): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-transport-'));
  const app = Fastify({ logger: false });
  const node: Node = { app, port: 0, received: [], snapshots: [], dir };
  registerRaftRoutes(app, {
    selfId: id, clusterSecret: SECRET, logger, snapshotDir: dir,
    onMessages: (messages) => node.received.push(...messages),
    onSnapshot: async (message, path, addresses) => { node.snapshots.push({ message, bytes: readFileSync(path), addresses }); },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  node.port = (app.server.address() as { port: number }).port;
  return node;
}

const heartbeat = (to: string, term = 1): Message => ({ type: 'heartbeat', from: 'n1', to, term, commit: 0, context: null });

describe('peer transport', () => {
  let nodes: Node[] = [];
  let transports: PeerTransport[] = [];
  beforeEach(() => { nodes = []; transports = []; });
  afterEach(async () => {
    await Promise.all(transports.map((t) => t.close()));
    for (const node of nodes) { await node.app.close(); rmSync(node.dir, { recursive: true, force: true }); }
  });

  async function post(port: number, path: string, body: Buffer, headers: Record<string, string>) {
    const res = await request(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream', ...headers } });
    await res.body.dump();
    return res.statusCode;
  }

  it('refuses requests without a valid signature and never passes them on', async () => {
    const node = await startNode('n2');
    nodes.push(node);
    const body = encodeMessages([heartbeat('n2')]);
    expect(await post(node.port, '/raft/append', body, {})).toBe(401);
    expect(await post(node.port, '/raft/append', body, { [SIGNATURE_HEADER]: sign('wrong', 'POST', '/raft/append', body, Date.now()) })).toBe(401);
    expect(await post(node.port, '/raft/append', body, { [SIGNATURE_HEADER]: sign(SECRET, 'POST', '/raft/append', body, Date.now() - 3_600_000) })).toBe(401);
    expect(await post(node.port, '/raft/append', body, { [SIGNATURE_HEADER]: sign(SECRET, 'POST', '/raft/vote', body, Date.now()) })).toBe(401);
    expect(node.received).toEqual([]);
    expect(await post(node.port, '/raft/append', body, { [SIGNATURE_HEADER]: sign(SECRET, 'POST', '/raft/append', body, Date.now()) })).toBe(202);
    expect(node.received).toHaveLength(1);
  });

  it('drops malformed or misaddressed batches with 400', async () => {
    const node = await startNode('n2');
    nodes.push(node);
    for (const body of [Buffer.from('not json'), encodeMessages([heartbeat('n3')])]) {
      expect(await post(node.port, '/raft/append', body, { [SIGNATURE_HEADER]: sign(SECRET, 'POST', '/raft/append', body, Date.now()) })).toBe(400);
    }
    expect(node.received).toEqual([]);
  });

  it('delivers to a healthy peer while another peer is dead', async () => {
    const alive = await startNode('n2');
    nodes.push(alive);
    const unreachable: string[] = [];
    const transport = new PeerTransport({
      selfId: 'n1', clusterSecret: SECRET, logger, requestTimeoutMs: 500,
      peers: [{ id: 'n2', host: '127.0.0.1', port: alive.port }, { id: 'n3', host: '127.0.0.1', port: 1 }],
      onUnreachable: (peer) => unreachable.push(peer),
    });
    transports.push(transport);
    for (let i = 0; i < 20; i++) transport.send([heartbeat('n2', i + 1), heartbeat('n3', i + 1)]);
    for (let i = 0; i < 200 && alive.received.length < 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(alive.received.map((m) => m.term)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (let i = 0; i < 200 && !unreachable.includes('n3'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(unreachable).toContain('n3');
    expect(unreachable).not.toContain('n2');
  });

  it('streams a snapshot in chunks, resumes a partial transfer and rejects a bad checksum', async () => {
    const receiver = await startNode('n2');
    nodes.push(receiver);
    const file = join(receiver.dir, 'source.snap');
    const content = Buffer.alloc(10_000, 7);
    for (let i = 0; i < content.length; i++) content[i] = i % 251;
    writeFileSync(file, content);
    const checksum = createHash('sha256').update(content).digest('hex');
    const message: SnapshotMessage = { type: 'snapshot', from: 'n1', to: 'n2', term: 3, snapshot: { index: 42, term: 3, confState: { voters: ['n1', 'n2'], learners: [] } } };
    const transport = new PeerTransport({
      selfId: 'n1', clusterSecret: SECRET, logger, snapshotChunkBytes: 1024,
      peers: [{ id: 'n2', host: '127.0.0.1', port: receiver.port }], onUnreachable: () => undefined,
    });
    transports.push(transport);
    // A bad checksum is refused and nothing is installed.
    expect(await transport.sendSnapshot(message, { path: file, bytes: content.length, checksum: 'f'.repeat(64) })).toBe(false);
    expect(receiver.snapshots).toEqual([]);
    // Leave a partial file as if an earlier transfer broke after 3 chunks; the sender resumes from it.
    const partial = join(receiver.dir, `incoming-3-42-${checksum.slice(0, 16)}.part`);
    writeFileSync(partial, content.subarray(0, 3072));
    // Member addresses travel with the snapshot; a malformed map is refused before any byte is kept.
    const addresses = { n1: '127.0.0.1:9001', n2: '127.0.0.1:9002', n4: '10.0.0.4:7000' };
    expect(await transport.sendSnapshot(message, { path: file, bytes: content.length, checksum, addresses: { n4: 'no-port' } })).toBe(false);
    expect(receiver.snapshots).toEqual([]);
    expect(await transport.sendSnapshot(message, { path: file, bytes: content.length, checksum, addresses })).toBe(true);
    expect(receiver.snapshots).toHaveLength(1);
    expect(receiver.snapshots[0].message.snapshot.index).toBe(42);
    expect(receiver.snapshots[0].bytes.equals(content)).toBe(true);
    expect(receiver.snapshots[0].addresses).toEqual(addresses);
  });

  it('signs a snapshot chunk together with its header: a captured signature does not cover another header', async () => {
    const receiver = await startNode('n2');
    nodes.push(receiver);
    const chunk = Buffer.from('snapshot bytes');
    const checksum = createHash('sha256').update(chunk).digest('hex');
    const header = (index: number) => Buffer.from(JSON.stringify({
      message: { type: 'snapshot', from: 'n1', to: 'n2', term: 3, snapshot: { index, term: 3, confState: { voters: ['n1', 'n2'], learners: [] } } },
      offset: 0, total: chunk.length, checksum, addresses: {},
    })).toString('base64');
    const post = (headerValue: string, signedHeader: string) => request(`http://127.0.0.1:${receiver.port}/raft/snapshot`, {
      method: 'POST', body: chunk, headers: { 'content-type': 'application/octet-stream', 'x-concord-snapshot': headerValue,
        [SIGNATURE_HEADER]: sign(SECRET, 'POST', '/raft/snapshot', chunk, Date.now(), signedHeader) },
    });
    const forged = await post(header(99), header(42));
    expect(forged.statusCode).toBe(401);
    await forged.body.dump();
    expect(receiver.snapshots).toEqual([]);
    const genuine = await post(header(42), header(42));
    expect(genuine.statusCode).toBe(200);
    await genuine.body.dump();
    expect(receiver.snapshots.map((s) => s.message.snapshot.index)).toEqual([42]);
  });
});
