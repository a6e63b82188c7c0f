// Sending side of the peer transport: one undici Pool per peer, one request in
// flight per peer and route, everything queued meanwhile batched into the next
// request, bounded queues, per-request timeouts and capped backoff after
// failures, so one slow or dead peer never delays the others (openraft#1810).
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { Message, NodeId, SnapshotMessage } from '../core/types.js';
import { SIGNATURE_HEADER, sign } from './auth.js';
import { encodeMessages } from './codec.js';
import { SNAPSHOT_HEADER } from './routes.js';

export interface PeerAddress { readonly id: NodeId; readonly host: string; readonly port: number }

/** TLS towards peers: `ca` verifies their certificates; `cert`/`key` are presented for mutual TLS. */
export interface PeerTls {
  readonly ca?: Buffer | string;
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
}

export interface PeerTransportOptions {
  readonly selfId: NodeId;
  readonly peers: readonly PeerAddress[];
  readonly clusterSecret: string;
  readonly logger: Logger;
  readonly requestTimeoutMs?: number;
  readonly backoffMsMax?: number;
  readonly snapshotChunkBytes?: number;
  readonly queueMessagesMax?: number;
  /** Reach peers over https (verified with `tls.ca`) instead of http. */
  readonly tls?: PeerTls;
  readonly onUnreachable: (peer: NodeId) => void;
}

export interface PeerStats { sent: number; failed: number; lastRttMs: number | null; lastContactAt: number | null; queueLength: number; backoffMs: number }

type Route = '/raft/append' | '/raft/vote' | '/raft/timeout-now';

function routeOf(message: Message): Route {
  if (message.type === 'vote' || message.type === 'preVote' || message.type === 'voteResponse' || message.type === 'preVoteResponse') return '/raft/vote';
  if (message.type === 'timeoutNow') return '/raft/timeout-now';
  return '/raft/append';
}

class PeerChannel {
  readonly pool: Pool;
  readonly queues = new Map<Route, Message[]>();
  readonly busy = new Set<Route>();
  readonly stats: PeerStats = { sent: 0, failed: 0, lastRttMs: null, lastContactAt: null, queueLength: 0, backoffMs: 0 };
  retryAt = 0;
  snapshotBusy = false;

  constructor(readonly address: PeerAddress, timeoutMs: number, tls: PeerTls | undefined) {
    this.pool = new Pool(`${tls === undefined ? 'http' : 'https'}://${address.host}:${address.port}`, {
      connections: 4, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs,
      keepAliveTimeout: 30_000, ...(tls === undefined ? {} : { connect: { ...tls } }),
    });
  }
}

export class PeerTransport {
  readonly #options: PeerTransportOptions;
  readonly #channels = new Map<NodeId, PeerChannel>();
  readonly #timeoutMs: number;
  readonly #backoffMax: number;
  readonly #queueMax: number;
  #closed = false;

  constructor(options: PeerTransportOptions) {
    this.#options = options;
    this.#timeoutMs = options.requestTimeoutMs ?? 1000;
    this.#backoffMax = options.backoffMsMax ?? 1000;
    this.#queueMax = options.queueMessagesMax ?? 4096;
    this.setPeers(options.peers);
  }

  setPeers(peers: readonly PeerAddress[]): void {
    for (const peer of peers) {
      if (peer.id === this.#options.selfId) continue;
      const existing = this.#channels.get(peer.id);
      if (existing !== undefined && existing.address.host === peer.host && existing.address.port === peer.port) continue;
      if (existing !== undefined) void existing.pool.close();
      this.#channels.set(peer.id, new PeerChannel(peer, this.#timeoutMs, this.#options.tls));
    }
    for (const [id, channel] of this.#channels) {
      if (!peers.some((p) => p.id === id)) {
        void channel.pool.close();
        this.#channels.delete(id);
      }
    }
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const message of messages) {
      const channel = this.#channels.get(message.to);
      if (channel === undefined) continue;
      const route = routeOf(message);
      const queue = channel.queues.get(route) ?? [];
      queue.push(message);
      if (queue.length > this.#queueMax) {
        queue.splice(0, queue.length - this.#queueMax);
        this.#options.onUnreachable(message.to);
      }
      channel.queues.set(route, queue);
    }
    for (const channel of this.#channels.values()) for (const route of channel.queues.keys()) this.#pump(channel, route);
  }

  #pump(channel: PeerChannel, route: Route): void {
    if (channel.busy.has(route) || this.#closed) return;
    const queue = channel.queues.get(route);
    if (queue === undefined || queue.length === 0) return;
    const wait = channel.retryAt - Date.now();
    if (wait > 0) {
      // Backing off: keep at most the newest messages; Raft retransmits what matters.
      channel.busy.add(route);
      setTimeout(() => { channel.busy.delete(route); this.#pump(channel, route); }, wait).unref();
      return;
    }
    channel.queues.set(route, []);
    channel.busy.add(route);
    const body = encodeMessages(queue);
    const started = performance.now();
    this.#post(channel, route, body, {})
      .then((status) => {
        if (status >= 400) throw new Error(`peer answered ${status}`);
        this.#succeeded(channel, started, queue.length);
      })
      .catch((error: unknown) => this.#failed(channel, error))
      .finally(() => {
        channel.busy.delete(route);
        this.#pump(channel, route);
      });
  }

  async #post(channel: PeerChannel, path: string, body: Buffer, headers: Record<string, string>): Promise<number> {
    const response = await channel.pool.request({
      path, method: 'POST', body,
      headers: { 'content-type': 'application/octet-stream', [SIGNATURE_HEADER]: sign(this.#options.clusterSecret, 'POST', path, body, Date.now()), ...headers },
    });
    await response.body.dump();
    return response.statusCode;
  }

  #succeeded(channel: PeerChannel, started: number, count: number): void {
    channel.stats.sent += count;
    channel.stats.lastRttMs = performance.now() - started;
    channel.stats.lastContactAt = Date.now();
    channel.stats.backoffMs = 0;
    channel.retryAt = 0;
  }

  #failed(channel: PeerChannel, error: unknown): void {
    channel.stats.failed++;
    channel.stats.backoffMs = Math.min(this.#backoffMax, Math.max(20, channel.stats.backoffMs * 2));
    channel.retryAt = Date.now() + channel.stats.backoffMs;
    if (channel.stats.failed % 50 === 1) {
      this.#options.logger.debug({ peer: channel.address.id, err: (error as Error).message }, 'peer request failed');
    }
    this.#options.onUnreachable(channel.address.id);
  }

  async sendSnapshot(message: SnapshotMessage, file: { path: string; bytes: number; checksum: string; addresses?: Readonly<Record<string, string>> }): Promise<boolean> {
    const channel = this.#channels.get(message.to);
    if (channel === undefined || channel.snapshotBusy || this.#closed) return false;
    channel.snapshotBusy = true;
    const chunkBytes = this.#options.snapshotChunkBytes ?? 1024 * 1024;
    const handle = await open(file.path, 'r');
    try {
      let offset = 0;
      for (let round = 0; round < 1_000_000 && !this.#closed; round++) {
        const length = Math.min(chunkBytes, file.bytes - offset);
        const chunk = Buffer.alloc(length);
        await handle.read(chunk, 0, length, offset);
        const header = Buffer.from(JSON.stringify({ message, offset, total: file.bytes, checksum: file.checksum, addresses: file.addresses ?? {} })).toString('base64');
        const response = await channel.pool.request({
          path: '/raft/snapshot', method: 'POST', body: chunk,
          headers: { 'content-type': 'application/octet-stream', [SNAPSHOT_HEADER]: header,
            [SIGNATURE_HEADER]: sign(this.#options.clusterSecret, 'POST', '/raft/snapshot', chunk, Date.now(), header) },
        });
        const answer = (await response.body.json().catch(() => ({}))) as { have?: number; done?: boolean };
        if (response.statusCode === 409 && typeof answer.have === 'number' && answer.have <= file.bytes) {
          offset = answer.have; // resume where the receiver is
          continue;
        }
        if (response.statusCode !== 200) return false;
        if (answer.done === true) return true;
        offset += length;
      }
      return false;
    } catch (error) {
      this.#options.logger.warn({ peer: message.to, err: (error as Error).message }, 'snapshot transfer failed');
      return false;
    } finally {
      await handle.close();
      channel.snapshotBusy = false;
    }
  }

  stats(): Record<NodeId, PeerStats> {
    const out: Record<NodeId, PeerStats> = {};
    for (const [id, channel] of this.#channels) {
      let queued = 0;
      for (const q of channel.queues.values()) queued += q.length;
      out[id] = { ...channel.stats, queueLength: queued };
    }
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#channels.values()].map((c) => c.pool.close().catch(() => undefined)));
    this.#channels.clear();
  }
}
