// The peer stream over real loopback sockets: messages arrive in order through one
// long-lived connection; the handshake refuses a peer without the cluster secret in
// either direction; a stream that carries a message in another peer's name is cut; a
// peer that comes back is reached again; round trips and contact are reported.
import { EventEmitter, once } from 'node:events';
import { type IncomingMessage, createServer, request } from 'node:http';
import { type Socket as NetSocket, createServer as createNetServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../../raft/core/index.js';
import { PeerTransport, registerRaftRoutes } from '../../../raft/transport/index.js';
import { FROM_HEADER, NONCE_HEADER, STREAM_PATH, STREAM_PROTOCOL, TO_HEADER, newNonce, signOpen } from '../../../raft/transport/stream-handshake.js';
import { SIGNATURE_HEADER } from '../../../raft/transport/auth.js';

const SECRET = 'stream-secret-1';
const logger = pino({ level: 'silent' });
const TIMEOUT_MS = 10_000;

interface Node { app: FastifyInstance; port: number; received: Message[]; contacts: string[]; events: EventEmitter; dir: string }

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function startNode(id: string, secret = SECRET, port = 0, bodyLimitBytes?: number, streamIdleMs?: number): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-stream-'));
  const app = Fastify({ logger: false });
  const node: Node = { app, port: 0, received: [], contacts: [], events: new EventEmitter(), dir };
  registerRaftRoutes(app, {
    selfId: id, clusterSecret: secret, logger, snapshotDir: dir,
    onMessages: (messages) => { node.received.push(...messages); node.events.emit('change'); },
    onContact: (peer) => node.contacts.push(peer),
    onSnapshot: async () => undefined,
    ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }),
    ...(streamIdleMs === undefined ? {} : { streamIdleMs }),
  });
  await app.listen({ host: '127.0.0.1', port });
  node.port = (app.server.address() as { port: number }).port;
  cleanup.push(async () => { await app.close(); rmSync(dir, { recursive: true, force: true }); });
  return node;
}

function transport(peers: { id: string; port: number }[], unreachable: string[] = [], secret = SECRET, requestTimeoutMs = 400): { t: PeerTransport; events: EventEmitter } {
  const events = new EventEmitter();
  const t = new PeerTransport({
    selfId: 'n1', clusterSecret: secret, logger, requestTimeoutMs, backoffMsMax: 100,
    peers: peers.map((p) => ({ id: p.id, host: '127.0.0.1', port: p.port })),
    onUnreachable: (peer) => { unreachable.push(peer); events.emit('change'); },
  });
  cleanup.push(() => t.close());
  return { t, events };
}

/** Resolves once `condition` holds, re-checked on each 'change' event; bounded in time. */
async function until(events: EventEmitter, condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}`);
    await once(events, 'change', { signal: AbortSignal.timeout(left) }).catch(() => undefined);
  }
}

const heartbeat = (to: string, term: number, from = 'n1'): Message => ({ type: 'heartbeat', from, to, term, commit: 0, context: null });

function upgrade(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: STREAM_PATH, headers: { connection: 'Upgrade', upgrade: STREAM_PROTOCOL, ...headers } });
    req.on('response', (res: IncomingMessage) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('upgrade', (res: IncomingMessage, socket) => { socket.destroy(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
}

describe('peer stream', () => {
  it('carries many sends over one connection, in order, and reports round trip and contact', async () => {
    const n2 = await startNode('n2');
    const { t } = transport([{ id: 'n2', port: n2.port }]);
    for (let i = 1; i <= 500; i++) t.send([heartbeat('n2', i)]);
    await until(n2.events, () => n2.received.length >= 500, '500 heartbeats');
    expect(n2.received.map((m) => m.term)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const connections = await new Promise<number>((resolve, reject) => n2.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    expect(connections).toBe(1);
    expect(n2.contacts.every((p) => p === 'n1')).toBe(true);
    expect(n2.contacts.length).toBeGreaterThan(0);
    const deadline = Date.now() + TIMEOUT_MS;
    while (t.stats().n2?.lastRttMs === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const stats = t.stats().n2!;
    expect(stats.sent).toBe(500);
    expect(stats.frames).toBe(1); // sent in one turn, while the stream was still opening: one write
    expect(stats.lastRttMs).not.toBeNull();
    expect(stats.lastContactAt).not.toBeNull();
  });

  it('refuses a stream without a valid signature, for another node, or with a stale timestamp', async () => {
    const n2 = await startNode('n2');
    const nonce = newNonce();
    const base = { [FROM_HEADER]: 'n1', [TO_HEADER]: 'n2', [NONCE_HEADER]: nonce };
    expect(await upgrade(n2.port, base)).toBe(401);
    expect(await upgrade(n2.port, { ...base, [SIGNATURE_HEADER]: signOpen('wrong', 'n1', 'n2', nonce, Date.now()) })).toBe(401);
    expect(await upgrade(n2.port, { ...base, [SIGNATURE_HEADER]: signOpen(SECRET, 'n1', 'n2', nonce, Date.now() - 3_600_000) })).toBe(401);
    // Signed for n1 → n3 but presented as n1 → n2.
    expect(await upgrade(n2.port, { ...base, [SIGNATURE_HEADER]: signOpen(SECRET, 'n1', 'n3', nonce, Date.now()) })).toBe(401);
    expect(await upgrade(n2.port, { ...base, [TO_HEADER]: 'n3', [SIGNATURE_HEADER]: signOpen(SECRET, 'n1', 'n3', nonce, Date.now()) })).toBe(421);
    expect(await upgrade(n2.port, { ...base, [NONCE_HEADER]: 'short', [SIGNATURE_HEADER]: signOpen(SECRET, 'n1', 'n2', 'short', Date.now()) })).toBe(400);
    expect(await upgrade(n2.port, { ...base, [SIGNATURE_HEADER]: signOpen(SECRET, 'n1', 'n2', nonce, Date.now()) })).toBe(101);
    expect(n2.received).toEqual([]);
  });

  it('does not send to a listener that cannot prove it holds the cluster secret', async () => {
    // An impostor that accepts every stream (it cannot sign its answer) and records what arrives.
    const impostor = createServer();
    let bytes = 0;
    const upgraded: Duplex[] = [];
    impostor.on('upgrade', (_req, socket) => {
      upgraded.push(socket);
      socket.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      socket.on('error', () => undefined);
      socket.write(['HTTP/1.1 101 Switching Protocols', `Upgrade: ${STREAM_PROTOCOL}`, 'Connection: Upgrade',
        `${NONCE_HEADER}: ${newNonce()}`, `${SIGNATURE_HEADER}: t=${Date.now()},v=${'0'.repeat(64)}`, '', ''].join('\r\n'));
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => {
      for (const socket of upgraded) socket.destroy();
      impostor.closeAllConnections();
      impostor.close(() => resolve());
    }));
    const unreachable: string[] = [];
    const { t, events } = transport([{ id: 'n2', port: (impostor.address() as { port: number }).port }], unreachable);
    t.send([heartbeat('n2', 1)]);
    await until(events, () => unreachable.includes('n2'), 'n2 reported unreachable');
    expect(bytes).toBe(0);
    // A listener with another secret refuses the dialer outright.
    const stranger = await startNode('n3', 'another-secret');
    const second = transport([{ id: 'n3', port: stranger.port }], unreachable);
    second.t.send([heartbeat('n3', 1)]);
    await until(second.events, () => unreachable.includes('n3'), 'n3 reported unreachable');
    expect(stranger.received).toEqual([]);
  });

  it('cuts a stream that carries a message in another peer\'s name', async () => {
    const n2 = await startNode('n2');
    const { t } = transport([{ id: 'n2', port: n2.port }]);
    t.send([heartbeat('n2', 1)]);
    await until(n2.events, () => n2.received.length === 1, 'the genuine heartbeat');
    t.send([heartbeat('n2', 2, 'n3')]);
    // The forged frame closes the stream; the next send re-dials and still arrives, the forged one never does.
    const deadline = Date.now() + TIMEOUT_MS;
    while (!n2.received.some((m) => m.term === 3) && Date.now() < deadline) {
      t.send([heartbeat('n2', 3)]);
      await once(n2.events, 'change', { signal: AbortSignal.timeout(200) }).catch(() => undefined);
    }
    expect(n2.received.some((m) => m.from === 'n3')).toBe(false);
    expect(n2.received.some((m) => m.term === 3)).toBe(true);
    expect(t.stats().n2!.failed).toBeGreaterThan(0);
  });

  it('reaches a peer again after it restarts on the same port', async () => {
    const first = await startNode('n2');
    const port = first.port;
    const unreachable: string[] = [];
    const { t, events } = transport([{ id: 'n2', port }], unreachable);
    t.send([heartbeat('n2', 1)]);
    await until(first.events, () => first.received.length === 1, 'the first heartbeat');
    await first.app.close();
    await until(events, () => unreachable.includes('n2'), 'n2 reported unreachable');
    const second = await startNode('n2', SECRET, port);
    const deadline = Date.now() + TIMEOUT_MS;
    for (let term = 2; second.received.length === 0 && Date.now() < deadline; term++) {
      t.send([heartbeat('n2', term)]);
      await once(second.events, 'change', { signal: AbortSignal.timeout(200) }).catch(() => undefined);
    }
    expect(second.received.length).toBeGreaterThan(0);
  });

  it('cuts a large turn of sends into frames the receiver accepts', async () => {
    // 12 appends of 1 MiB in one turn against a 5 MiB body limit: one frame would be refused.
    const n2 = await startNode('n2', SECRET, 0, 5 * 1024 * 1024);
    const { t } = transport([{ id: 'n2', port: n2.port }]);
    const data = new Uint8Array(1024 * 1024).fill(7);
    const appends: Message[] = Array.from({ length: 12 }, (_, i) => ({
      type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: i, prevTerm: 1, entries: [{ index: i + 1, term: 1, type: 'normal', data }], commit: 0,
    }));
    t.send(appends);
    await until(n2.events, () => n2.received.length >= 12, '12 appends');
    expect(n2.received.map((m) => (m.type === 'append' ? m.entries[0]!.index : 0))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(t.stats().n2!.failed).toBe(0);
    expect(t.stats().n2!.frames).toBeGreaterThan(1);
  });

  it('refuses a replayed stream opening', async () => {
    const n2 = await startNode('n2');
    const nonce = newNonce();
    const headers = { [FROM_HEADER]: 'n1', [TO_HEADER]: 'n2', [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: signOpen(SECRET, 'n1', 'n2', nonce, Date.now()) };
    expect(await upgrade(n2.port, headers)).toBe(101);
    expect(await upgrade(n2.port, headers)).toBe(401);
  });

  it('counts a dial that times out as one failure', async () => {
    // Accepts TCP connections and never answers.
    const silent = createNetServer((socket) => { held.push(socket); socket.on('error', () => undefined); });
    const held: NetSocket[] = [];
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => { for (const s of held) s.destroy(); silent.close(() => resolve()); }));
    const unreachable: string[] = [];
    const { t, events } = transport([{ id: 'n2', port: (silent.address() as { port: number }).port }], unreachable, SECRET, 200);
    t.send([heartbeat('n2', 1)]);
    await until(events, () => unreachable.length > 0, 'n2 reported unreachable');
    // Let a second report (the destroyed request's own error event) surface, if there were one.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(unreachable).toEqual(['n2']);
    expect(t.stats().n2!.failed).toBe(1);
  });

  it('answers an upgrade it does not speak (h2c on an API path) as plain HTTP/1.1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-stream-'));
    const app = Fastify({ logger: false });
    app.get('/hello', async () => ({ hello: 'world' }));
    registerRaftRoutes(app, { selfId: 'n2', clusterSecret: SECRET, logger, snapshotDir: dir, onMessages: () => undefined, onSnapshot: async () => undefined });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanup.push(async () => { await app.close(); rmSync(dir, { recursive: true, force: true }); });
    const port = (app.server.address() as { port: number }).port;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/hello', headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': '' } });
      req.on('response', (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('switched protocols')));
      req.on('error', reject);
      req.end();
    });
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ hello: 'world' }) });
    // The stream path itself still refuses an opening without peer ids, nonce and signature.
    expect(await upgrade(port, {})).toBe(400);
  });

  it('closes a stream that stays silent past the idle limit, and keeps a pinged one open', async () => {
    // Idle limit 1 s against pings every 100 ms: a tenfold margin for a busy test machine.
    const n2 = await startNode('n2', SECRET, 0, undefined, 1000);
    // A silent opening (a half-open dialer): the listener closes it.
    const nonce = newNonce();
    const closed = await new Promise<boolean>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: n2.port, path: STREAM_PATH, headers: { connection: 'Upgrade', upgrade: STREAM_PROTOCOL,
        [FROM_HEADER]: 'n1', [TO_HEADER]: 'n2', [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: signOpen(SECRET, 'n1', 'n2', nonce, Date.now()) } });
      req.on('upgrade', (_res, socket) => {
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(true));
        setTimeout(() => { socket.destroy(); resolve(false); }, TIMEOUT_MS).unref();
      });
      req.on('error', reject);
      req.end();
    });
    expect(closed).toBe(true);
    // A real dialer pings (here every 100 ms: timeout 400 / 4), so its stream outlives the limit.
    const { t } = transport([{ id: 'n2', port: n2.port }]);
    t.send([heartbeat('n2', 1)]);
    await until(n2.events, () => n2.received.length === 1, 'the first heartbeat');
    const pongs = t.stats().n2!.lastContactAt;
    // No event marks "the idle limit passed and nothing closed": let two and a half limits go by.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    t.send([heartbeat('n2', 2)]);
    await until(n2.events, () => n2.received.length === 2, 'the second heartbeat');
    expect(t.stats().n2!.failed).toBe(0);
    expect(t.stats().n2!.lastContactAt).not.toBe(pongs);
  });
});
